"""Frontmatter parsing through PyYAML's C safe loader when it is there (SPEC section 4)."""

from types import SimpleNamespace

import pytest
import yaml

from refresher import frontmatter
from refresher.exceptions import MetadataError
from refresher.frontmatter import MAX_FILE_BYTES, decode, parse_config, parse_markdown, safe_loader

needs_libyaml = pytest.mark.skipif(
    not yaml.__with_libyaml__, reason="this PyYAML was built without libyaml"
)


@needs_libyaml
def test_the_c_safe_loader_is_chosen_when_pyyaml_has_libyaml():
    assert frontmatter.YAML_LOADER is yaml.CSafeLoader


@needs_libyaml
def test_parsing_goes_through_the_c_loader(monkeypatch):
    built = []
    original = yaml.CSafeLoader.__init__

    def recording_init(self, stream):
        built.append(type(self))
        original(self, stream)

    monkeypatch.setattr(yaml.CSafeLoader, "__init__", recording_init)

    document = parse_markdown("---\ntitle: PDF\ntopics: [a, b]\n---\nBody\n")

    assert built == [yaml.CSafeLoader]
    assert document.meta == {"title": "PDF", "topics": ["a", "b"]}
    assert document.body == "Body\n"


def test_without_libyaml_the_pure_python_safe_loader_is_chosen():
    without_c = SimpleNamespace(SafeLoader=yaml.SafeLoader)
    assert safe_loader(without_c) is yaml.SafeLoader

    class CLoader:
        pass

    with_c = SimpleNamespace(SafeLoader=yaml.SafeLoader, CSafeLoader=CLoader)
    assert safe_loader(with_c) is CLoader


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['echo owned']",
        "!!python/name:os.system",
        "!!python/object:collections.OrderedDict {}",
    ],
)
def test_python_tags_are_refused_as_invalid_metadata(tag):
    with pytest.raises(MetadataError) as caught:
        parse_markdown(f"---\ndescription: {tag}\n---\n")
    assert caught.value.code == "invalid_metadata"


def test_broken_yaml_names_its_line():
    with pytest.raises(MetadataError) as caught:
        parse_markdown("---\ntitle: ok\ndescription: [unclosed\nauthor: x\n---\n")
    assert caught.value.code == "invalid_metadata"
    assert caught.value.message.startswith("invalid YAML frontmatter (line ")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # flow nesting: libyaml stops at its depth limit
        "- " * 100_000 + "x",  # block nesting
        "{a: " * 50_000 + "1" + "}" * 50_000,
    ],
)
def test_deep_nesting_is_invalid_metadata_not_a_crash(text):
    with pytest.raises(MetadataError) as caught:
        parse_config(text, filename="server.yaml")
    assert caught.value.code == "invalid_metadata"


def test_the_size_cap_still_comes_first():
    with pytest.raises(MetadataError) as caught:
        decode(b"---\ndescription: x\n---\n" + b"x" * MAX_FILE_BYTES)
    assert caught.value.code == "file_too_large"


def test_a_yaml_mcp_config_is_read_as_plain_data():
    config = "name: tracker\ndescription: Tickets.\nsince: 2024-01-02\nports: [1, 2]\n"
    meta = parse_config(config, filename="mcp.yml").meta
    assert meta["name"] == "tracker" and meta["ports"] == [1, 2]
    assert str(meta["since"]) == "2024-01-02"


def test_the_pure_python_fallback_also_ends_deep_nesting_as_invalid_metadata(monkeypatch):
    monkeypatch.setattr(frontmatter, "YAML_LOADER", yaml.SafeLoader)
    with pytest.raises(MetadataError) as caught:
        parse_markdown("---\ndescription: " + "[" * 3000 + "]" * 3000 + "\n---\n")
    assert caught.value.message == "the YAML frontmatter is nested too deeply"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"---\ntitle: caf\xe9\n---\n", "the file is not UTF-8 text"),
        (b"---\ntitle: a\x00b\n---\n", "the file contains NUL characters"),
    ],
)
def test_files_that_are_not_text_are_invalid_metadata(data, message):
    with pytest.raises(MetadataError) as caught:
        decode(data)
    assert (caught.value.code, caught.value.message) == ("invalid_metadata", message)


@pytest.mark.parametrize(
    ("text", "filename", "message"),
    [
        ('{"name": ', "mcp.json", "invalid JSON: Expecting value (line 1)"),
        ('["a list"]', "mcp.json", "the JSON document is not an object"),
        ("[" * 100_000 + "]" * 100_000, "mcp.json", "the JSON document is nested too deeply"),
        ("- a list\n- of things\n", "mcp.yaml", "the YAML frontmatter is not a mapping"),
    ],
)
def test_configs_that_are_not_mappings_are_invalid_metadata(text, filename, message):
    with pytest.raises(MetadataError) as caught:
        parse_config(text, filename=filename)
    assert (caught.value.code, caught.value.message) == ("invalid_metadata", message)


def test_an_empty_frontmatter_block_is_an_empty_mapping():
    assert parse_markdown("---\n---\nBody\n").meta == {}
