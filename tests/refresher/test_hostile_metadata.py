"""The parse-and-derive boundary against hostile main files: only `MetadataError` ever escapes,
and what gets through is plain data the derivation rules turn into strings and lists of them."""

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refresher.derive import derive_fields
from refresher.exceptions import MetadataError
from refresher.frontmatter import decode, parse_config, parse_markdown, plain
from tests.hostile import INVALID_FRONTMATTER, INVALID_JSON, ODD_FRONTMATTER, SURROGATE_JSON

REPOSITORY = {"owner": {"login": "acme"}, "license": {"spdx_id": "MIT"}}
_SURROGATE = re.compile("[\ud800-\udfff]")


def read(data: bytes, filename: str = "SKILL.md") -> dict[str, str | list[str]]:
    """What a run does with a main file: decode, parse, derive."""
    text = decode(data)
    document = (
        parse_config(text, filename=filename)
        if filename.endswith(".json")
        else parse_markdown(text)
    )
    return derive_fields(document, repository=REPOSITORY)


def assert_plain_fields(fields: dict[str, str | list[str]]) -> None:
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        assert all(isinstance(v, str) for v in values), (name, value)
        assert not any(_SURROGATE.search(v) or "\x00" in v for v in values), (name, value)


@pytest.mark.parametrize("name", sorted(INVALID_FRONTMATTER))
def test_hostile_frontmatter_is_invalid_metadata(name):
    with pytest.raises(MetadataError) as caught:
        read(INVALID_FRONTMATTER[name].encode())
    assert caught.value.code == "invalid_metadata"


@pytest.mark.parametrize("name", sorted(INVALID_JSON))
def test_hostile_json_is_invalid_metadata(name):
    with pytest.raises(MetadataError) as caught:
        read(INVALID_JSON[name].encode(), ".mcp.json")
    assert caught.value.code == "invalid_metadata"


def test_odd_values_become_plain_data_the_rules_can_read():
    fields = read(ODD_FRONTMATTER["date-description"].encode())
    # A date is its ISO text; a non-finite float says nothing; a set is a sorted list.
    assert fields["description"] == "2024-01-02"
    assert fields["title"] == ""
    assert fields["author"] == "acme"
    assert fields["topics"] == ["a", "b"]
    assert_plain_fields(fields)


def test_half_a_surrogate_pair_is_replaced_not_stored():
    fields = read(SURROGATE_JSON.encode(), ".mcp.json")
    assert fields["description"] == "half \ufffd a pair"


def test_plain_refuses_a_structure_holding_itself():
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(MetadataError, match="nests deeper"):
        plain({"loop": loop})


# Pieces YAML gives meaning to: tags, anchors, dates, numbers in every base, flow collections.
_YAML_TOKENS = st.sampled_from(
    [
        "a", "name", "description", "author", "topics", "license", ":", ": ", "- ", "\n", "  ",
        "{", "}", "[", "]", ",", "?", "&a ", "*a", "!!set ", "!!binary ", "!!timestamp ",
        "!!int ", "!!float ", "!!omap ", "!!python/object ", "<<: ", "2024-13-01", "2024-02-30",
        "0000-01-01", "2001-12-14 21:59:43.10 +99:00", "0x" + "f" * 200, "9" * 4400, ".nan",
        ".inf", "1e999", '"\\ud800"', '"\\x00"', "'", '"', "|", ">", "~", "null", "yes", "0o17",
        "1_000", "aGVsbG8=", "#", "\t", "\u202e", "\u200b",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_YAML_TOKENS, max_size=40), st.text(max_size=20))
def test_any_frontmatter_gives_fields_or_metadata_error(tokens, tail):
    data = ("---\n" + "".join(tokens) + tail + "\n---\nThe body.\n").encode("utf-8", "replace")
    try:
        fields = read(data)
    except MetadataError as exc:
        assert exc.code in ("invalid_metadata", "file_too_large")
        return
    assert_plain_fields(fields)


_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(),
    st.just("\ud800"),
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_JSON, st.sampled_from(["", "[", "{", "1" * 4400, ",", "]"]))
def test_any_json_config_gives_fields_or_metadata_error(value, noise):
    text = json.dumps({"description": value, "author": value, "topics": value}) + noise
    try:
        fields = read(text.encode("utf-8", "surrogatepass"), ".mcp.json")
    except MetadataError as exc:
        assert exc.code == "invalid_metadata"
        return
    assert_plain_fields(fields)
