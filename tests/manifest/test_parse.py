"""Reading and checking collection.toml without the database: every field, every refusal."""

import json
import math
from datetime import UTC, date, datetime, time

import pytest

from collections_app.manifest.document import (
    InvalidManifest,
    derive_source,
    parse_manifest,
    pinned_ref,
    upstream_for_export,
)
from collections_app.manifest.extra import decode_extra, encode_extra
from refresher.exceptions import PayloadTooLarge
from refresher.sources import parse_source
from tests.manifest.conftest import AGENT, SKILL, manifest

LIMIT = 5 * 1024 * 1024


def parse(text: str):
    return parse_manifest(text, max_bytes=LIMIT, max_artifacts=5000)


def problems_of(text: str) -> dict[str, list[str]]:
    with pytest.raises(InvalidManifest) as caught:
        parse(text)
    assert caught.value.code == "invalid_request"
    assert caught.value.status == 400
    return caught.value.details


def test_full_manifest_reads_every_collection_field_and_unknown_key(full_manifest):
    parsed = parse(full_manifest)
    assert parsed.name == "work"
    assert parsed.version == "1.2.0"
    assert parsed.description == "Skills and agents for the review workflow"
    assert parsed.created == datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
    assert parsed.updated == datetime(2025, 11, 5, 14, 32, tzinfo=UTC)
    assert parsed.extra == {"default_scope": "user"}
    assert decode_extra(parsed.document_extra) == {
        "schema": 2,
        "sync": {"strategy": "prompt", "checked": datetime(2025, 11, 4, 8, 0, tzinfo=UTC)},
    }
    assert [(a.type, a.name) for a in parsed.artifacts] == [
        ("skill", "pdf-tools"),
        ("agent", "code-reviewer"),
        ("command", "release-notes"),
        ("command", "custom-review"),
        ("hook", "format-on-save"),
        ("mcp", "postgres"),
    ]


def test_full_manifest_reads_every_artifact_field(full_manifest):
    pdf = parse(full_manifest).artifacts[0]
    assert pdf.path == "skills/pdf-tools/"
    assert pdf.origin == "github"
    assert pdf.upstream == "https://github.com/acme/skills/tree/main/skills/pdf-tools"
    assert pdf.version_spec == "latest"
    assert pdf.resolved_sha == "5f1d0c9a2b3e4f5061728394a5b6c7d8e9f00112"
    assert pdf.resolved_version == "v2.1.0"
    assert pdf.added == datetime(2025, 11, 2, 14, 0, tzinfo=UTC)
    assert pdf.last_updated == datetime(2025, 11, 3, 9, 15, tzinfo=UTC)
    assert pdf.tags == ["documents", "pdf"]
    assert pdf.uuid == "0b8f6a52-3c1d-4e7f-9a2b-6c5d4e3f2a10"
    assert decode_extra(pdf.extra) == {
        "pinned_by": "dana",
        "deploy": {"targets": ["~/.claude", "./.claude"], "when": date(2025, 11, 3)},
    }
    meta = pdf.metadata
    assert meta is not None
    assert (meta.title, meta.description, meta.author, meta.license, meta.version) == (
        "PDF tools",
        "Fill, split and merge PDF files.",
        "Acme Tools",
        "MIT",
        "2.1.0",
    )
    assert meta.dependencies == ["pypdf>=4", "pdfplumber"]
    assert meta.topics == ["claude-skills", "pdf"]
    assert meta.extra == {"homepage": "https://acme.example/pdf"}


def test_sources_keep_the_pin_of_version_spec_and_resolved_sha(full_manifest):
    by_name = {a.name: a for a in parse(full_manifest).artifacts}
    # `latest`: the upstream as written; a ref in a tree URL is kept (SPEC 3).
    assert by_name["pdf-tools"].source == (
        "https://github.com/acme/skills/tree/main/skills/pdf-tools"
    )
    # A tag pin replaces the URL's branch.
    assert by_name["code-reviewer"].source == "obra/superpowers/agents/code-reviewer.md@v1.0.0"
    assert parse_source(by_name["code-reviewer"].source).ref == "v1.0.0"
    # An abbreviated SHA that resolved_sha completes pins to the full SHA.
    release = parse_source(by_name["release-notes"].source)
    assert release.ref == "9c3e1f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e"
    assert release.pinned_to_sha
    # Local artifacts have no source; other hosts are kept as written.
    assert by_name["custom-review"].source == ""
    assert by_name["format-on-save"].source == "acme/hooks/hooks/format-on-save.json"
    assert by_name["postgres"].source == "https://gitlab.com/acme/mcp-servers"


def test_times_without_an_offset_are_utc_and_offsets_are_converted(full_manifest):
    by_name = {a.name: a for a in parse(full_manifest).artifacts}
    assert by_name["code-reviewer"].added == datetime(2025, 11, 2, 15, 30, tzinfo=UTC)
    assert by_name["release-notes"].added == datetime(2025, 11, 4, 6, 0, tzinfo=UTC)


def test_native_toml_datetimes_are_read_like_strings():
    parsed = parse(manifest(SKILL.replace('"2025-11-02T14:00:00Z"', "2025-11-02T14:00:00Z")))
    assert parsed.artifacts[0].added == datetime(2025, 11, 2, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("version_spec", "resolved_sha", "ref"),
    [
        (None, None, ""),
        ("latest", "a" * 40, ""),
        ("LATEST", None, ""),
        ("v1.2.0", "a" * 40, "v1.2.0"),
        ("release/2025", None, "release/2025"),
        ("abc1234", "abc1234" + "0" * 33, "abc1234" + "0" * 33),
        ("B" * 40, None, "b" * 40),
        # A hex-looking spec that resolved_sha does not complete is a ref as written (a tag).
        ("abc1234", "f" * 40, "abc1234"),
    ],
)
def test_pinned_ref(version_spec, resolved_sha, ref):
    assert pinned_ref(version_spec, resolved_sha) == ref


def test_a_version_spec_that_is_not_a_git_ref_is_an_invalid_source():
    from refresher.exceptions import InvalidSource

    with pytest.raises(InvalidSource):
        derive_source(
            origin="github", upstream="acme/skills/x", version_spec="^1.0", resolved_sha=None
        )


@pytest.mark.parametrize(
    ("change", "place", "words"),
    [
        ('type = "skill"', "type", "unknown value 'widget'"),
        ('path = "skills/pdf"', "path", "'..'"),
        ('upstream = "acme/skills/skills/pdf"', "upstream", "not a valid source"),
        ('added = "2025-11-02T14:00:00Z"', "added", "date and time"),
    ],
)
def test_an_invalid_field_names_the_entry_and_the_field(change, place, words):
    bad = {
        "type": 'type = "widget"',
        "path": 'path = "skills/../../etc/passwd"',
        "upstream": 'upstream = "bad owner!/repo"',
        "added": 'added = "yesterday"',
    }[place]
    details = problems_of(manifest(AGENT, SKILL.replace(change, bad)))
    [label] = details
    assert label.startswith("artifacts[1]")
    assert any(m.startswith(f"{place}:") and words in m for m in details[label]), details


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "\\\\server\\share", "C:\\skills\\pdf", "~/skills", "skills\\..\\..", "a\x01"],
)
def test_paths_must_stay_inside_the_collection(path):
    # A JSON string is a TOML basic string, escapes included.
    entry = SKILL.replace('path = "skills/pdf"', f"path = {json.dumps(path)}")
    details = problems_of(manifest(entry))
    assert any("path:" in m for m in details["artifacts[0] (skill:pdf)"])


def test_every_invalid_entry_is_named_at_once():
    details = problems_of(
        manifest(
            SKILL,
            SKILL,  # a duplicate of the first
            AGENT.replace('name = "reviewer"', 'name = "../escape"'),
            'name = "x"\ntype = "skill"\nresolved_sha = "abc123"',
            'name = "y"\ntype = "agent"\nuuid = "not-a-uuid"\ntags = "one"',
        )
    )
    assert set(details) == {
        "artifacts[1] (skill:pdf)",
        "artifacts[2] (agent:../escape)",
        "artifacts[3] (skill:x)",
        "artifacts[4] (agent:y)",
    }
    assert details["artifacts[1] (skill:pdf)"] == [
        "name: duplicate of artifacts[0] (skill:pdf); a type and name may appear only once."
    ]
    assert any("resolved_sha" in m for m in details["artifacts[3] (skill:x)"])
    assert {m.split(":")[0] for m in details["artifacts[4] (agent:y)"]} == {"uuid", "tags"}


def test_duplicate_uuids_are_refused():
    value = "0b8f6a52-3c1d-4e7f-9a2b-6c5d4e3f2a10"
    # The same uuid written in capitals is the same uuid.
    details = problems_of(
        manifest(SKILL + f'\nuuid = "{value}"', AGENT + f'\nuuid = "{value.upper()}"')
    )
    assert details == {
        "artifacts[1] (agent:reviewer)": ["uuid: the same uuid as artifacts[0] (skill:pdf)."]
    }


def test_required_keys_and_types_are_checked():
    details = problems_of(manifest('path = "skills/x"', 'name = 3\ntype = "skill"'))
    assert details["artifacts[0]"] == ["name: is required.", "type: is required."]
    assert details["artifacts[1]"] == ["name: must be a string."]


def test_metadata_fields_are_checked():
    entry = SKILL + "\n[artifacts.metadata]\ntopics = [1, 2]\ntitle = '" + "t" * 301 + "'\n"
    details = problems_of(manifest(entry))
    assert sorted(m.split(":")[0] for m in details["artifacts[0] (skill:pdf)"]) == [
        "metadata.title",
        "metadata.topics",
    ]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"[collection\nname = 'x'", "not valid TOML"),
        (b"\xff\xfe[collection]", "not UTF-8"),
        (b"   \n", "empty"),
        (b'[collection]\nname = "a\\u0000b"', "NUL"),
        (b"x = " + b"[" * 5000 + b"]" * 5000, "nested"),
        (b"x = " + b"[" * 40 + b"]" * 40, "nested"),
    ],
)
def test_what_is_not_a_manifest_is_refused(data, words):
    with pytest.raises(InvalidManifest) as caught:
        parse_manifest(data, max_bytes=LIMIT, max_artifacts=5000)
    assert any(words in m for ms in caught.value.details.values() for m in ms), caught.value.details


def test_artifacts_and_collection_must_be_tables():
    details = problems_of('collection = "work"\nartifacts = "none"')
    assert set(details) == {"collection", "artifacts"}


def test_over_the_size_limit_is_payload_too_large():
    with pytest.raises(PayloadTooLarge) as caught:
        parse_manifest(b"#" * 101, max_bytes=100, max_artifacts=5000)
    assert caught.value.status == 413
    assert caught.value.code == "payload_too_large"
    parse_manifest(
        b"[collection]\n" + b"#" * 86, max_bytes=100, max_artifacts=5000
    )  # exactly at the limit


def test_unknown_values_json_cannot_hold_survive_encoding():
    value = {
        "when": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "local": datetime(2025, 1, 2, 3, 4, 5),
        "day": date(2025, 1, 2),
        "at": time(7, 30),
        "big": math.inf,
        "small": -math.inf,
        "list": [1, 2.5, "x", True, [date(2024, 2, 29)]],
        "looks_like_a_tag": {"$toml": "date", "value": "2025-01-01"},
    }
    stored = json.loads(json.dumps(encode_extra(value)))
    assert decode_extra(stored) == value


def test_nan_survives_encoding():
    stored = json.loads(json.dumps(encode_extra({"x": math.nan})))
    assert math.isnan(decode_extra(stored)["x"])


def test_export_writes_back_the_manifest_upstream_while_it_still_gives_the_source():
    assert upstream_for_export(
        source="obra/superpowers/agents/x.md@v1.0.0",
        origin="github",
        manifest_upstream="https://github.com/obra/superpowers/tree/main/agents/x.md",
        version_spec="v1.0.0",
        resolved_sha="",
    ) == ("github", "https://github.com/obra/superpowers/tree/main/agents/x.md", "v1.0.0")


def test_export_writes_a_source_changed_on_the_site_in_short_form_with_its_ref():
    assert upstream_for_export(
        source="https://github.com/acme/new/tree/v3/skills/x",
        origin="github",
        manifest_upstream="acme/old/skills/x",
        version_spec="latest",
        resolved_sha="",
    ) == ("github", "acme/new/skills/x", "v3")
    # A local artifact that was given a GitHub source on the site is no longer local.
    assert upstream_for_export(
        source="acme/new/skills/x",
        origin="local",
        manifest_upstream="",
        version_spec="",
        resolved_sha="",
    ) == ("github", "acme/new/skills/x", "latest")
    # Made on the site with no source at all: local.
    assert upstream_for_export(
        source="", origin="", manifest_upstream="", version_spec="", resolved_sha=""
    ) == ("local", None, None)
