"""Importing and exporting against the database: fields, atomicity, re-import, the round trip."""

import tomllib
from datetime import UTC, datetime

import pytest
from django.forms.models import model_to_dict

from collections_app.manifest.document import InvalidManifest, parse_moment
from collections_app.manifest.export import export_manifest, manifest_filename
from collections_app.manifest.importer import import_manifest
from collections_app.models import Artifact, Collection
from tests.factories import ArtifactFactory, CollectionFactory
from tests.manifest.conftest import AGENT, SKILL, manifest

pytestmark = pytest.mark.django_db

PDF_UUID = "0b8f6a52-3c1d-4e7f-9a2b-6c5d4e3f2a10"


def snapshot(collection: Collection) -> dict:
    """Everything stored about a collection and its artifacts, for before/after comparisons."""
    collection.refresh_from_db()
    artifacts = {
        a.key: {**model_to_dict(a), "created_at": a.created_at, "updated_at": a.updated_at}
        for a in collection.artifacts.all()
    }
    return {
        "collection": {
            **model_to_dict(collection),
            "created_at": collection.created_at,
            "updated_at": collection.updated_at,
        },
        "artifacts": artifacts,
    }


def test_import_creates_the_collection_with_every_field(user, full_manifest):
    result = import_manifest(full_manifest, owner=user)
    assert result.created and not result.dry_run
    assert [(a.type, a.name, a.status) for a in result.artifacts] == [
        ("skill", "pdf-tools", "created"),
        ("agent", "code-reviewer", "created"),
        ("command", "release-notes", "created"),
        ("command", "custom-review", "created"),
        ("hook", "format-on-save", "created"),
        ("mcp", "postgres", "created"),
    ]
    collection = Collection.objects.get(pk=result.collection_id)
    assert (collection.owner, collection.name, collection.version) == (user, "work", "1.2.0")
    assert collection.description == "Skills and agents for the review workflow"
    assert collection.created_at == datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
    assert collection.manifest_extra == {"default_scope": "user"}
    assert collection.manifest_document_extra["schema"] == 2

    pdf = collection.artifacts.get(name="pdf-tools")
    assert pdf.source == "https://github.com/acme/skills/tree/main/skills/pdf-tools"
    assert (pdf.source_kind, pdf.upstream_owner, pdf.upstream_repo) == ("github", "acme", "skills")
    assert (pdf.upstream_path, pdf.upstream_ref) == ("skills/pdf-tools", "main")
    assert pdf.resolved_sha == "5f1d0c9a2b3e4f5061728394a5b6c7d8e9f00112"
    assert (pdf.path, pdf.origin, pdf.version_spec) == ("skills/pdf-tools/", "github", "latest")
    assert pdf.resolved_version == "v2.1.0"
    assert pdf.manifest_uuid == PDF_UUID
    assert pdf.created_at == datetime(2025, 11, 2, 14, 0, tzinfo=UTC)
    assert pdf.last_refreshed_at == datetime(2025, 11, 3, 9, 15, tzinfo=UTC)
    assert pdf.tags == ["documents", "pdf"]
    assert (pdf.title, pdf.description, pdf.author, pdf.license) == (
        "PDF tools",
        "Fill, split and merge PDF files.",
        "Acme Tools",
        "MIT",
    )
    assert pdf.metadata_version == "2.1.0"
    assert pdf.dependencies == ["pypdf>=4", "pdfplumber"]
    assert pdf.topics == ["claude-skills", "pdf"]
    assert pdf.metadata_extra == {"homepage": "https://acme.example/pdf"}
    assert pdf.manifest_extra["pinned_by"] == "dana"

    reviewer = collection.artifacts.get(name="code-reviewer")
    assert (reviewer.upstream_path, reviewer.upstream_ref) == ("agents/code-reviewer.md", "v1.0.0")
    notes = collection.artifacts.get(name="release-notes")
    assert notes.upstream_ref == "9c3e1f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e"
    assert notes.parsed_source.pinned_to_sha
    local = collection.artifacts.get(name="custom-review")
    assert (local.source, local.source_kind, local.origin) == ("", "none", "local")
    hook = collection.artifacts.get(name="format-on-save")
    assert (hook.origin, hook.origin_source) == ("marketplace", "github")
    postgres = collection.artifacts.get(name="postgres")
    assert postgres.source_kind == "unsupported"


def test_export_then_import_changes_nothing(user, full_manifest):
    first = import_manifest(full_manifest, owner=user)
    collection = Collection.objects.get(pk=first.collection_id)
    before = snapshot(collection)
    exported = export_manifest(collection)

    again = import_manifest(exported, owner=user)

    assert again.collection_id == collection.id and not again.created
    assert {a.status for a in again.artifacts} == {"unchanged"}
    assert snapshot(collection) == before
    assert export_manifest(collection) == exported


def test_the_round_trip_keeps_every_field_and_unknown_key(user, full_manifest):
    original = tomllib.loads(full_manifest)
    result = import_manifest(full_manifest, owner=user)
    exported = tomllib.loads(export_manifest(Collection.objects.get(pk=result.collection_id)))

    # Unknown top-level tables and [collection] keys come back, TOML datetimes as datetimes.
    assert exported["schema"] == original["schema"]
    assert exported["sync"] == original["sync"]
    for key in ("name", "version", "description", "default_scope"):
        assert exported["collection"][key] == original["collection"][key]
    assert exported["collection"]["created"] == "2025-11-01T10:00:00+00:00"

    by_name = {entry["name"]: entry for entry in exported["artifacts"]}
    for entry in original["artifacts"]:
        back = by_name[entry["name"]]
        for key, value in entry.items():
            if key in ("added", "last_updated"):
                # Written in UTC with its offset, the same moment.
                assert parse_moment(back[key]) == parse_moment(value)
            else:
                assert back[key] == value, (entry["name"], key)


def test_a_collection_made_on_the_site_round_trips(user):
    collection = CollectionFactory(owner=user, name="made here")
    ArtifactFactory(collection=collection, name="a", source="acme/skills/skills/a@v2", tags=["x"])
    ArtifactFactory(collection=collection, name="b", source="", description="local one")
    before = snapshot(collection)
    exported = export_manifest(collection)
    entries = {e["name"]: e for e in tomllib.loads(exported)["artifacts"]}
    assert entries["a"]["upstream"] == "acme/skills/skills/a"
    assert entries["a"]["version_spec"] == "v2"
    assert entries["a"]["path"] == "skills/a"
    assert entries["b"]["origin"] == "local" and "upstream" not in entries["b"]
    # The tool needs `added` on every entry; the uuid is the artifact's own id.
    assert {"added", "uuid", "path", "origin"} <= set(entries["b"])

    result = import_manifest(exported, owner=user)
    assert {a.status for a in result.artifacts} == {"unchanged"}
    after = snapshot(collection)
    assert after["artifacts"]["skill:a"]["source"] == before["artifacts"]["skill:a"]["source"]
    assert after == before


def test_reimport_updates_in_place_and_reports_the_changed_keys(user):
    first = import_manifest(manifest(SKILL, AGENT), owner=user)
    pdf = Artifact.objects.get(name="pdf")
    edited = SKILL.replace('upstream = "acme/skills/skills/pdf"', 'upstream = "acme/skills2/pdf"')
    edited += '\ntags = ["new"]\n\n[artifacts.metadata]\ndescription = "Edited."\n'

    result = import_manifest(manifest(edited, AGENT), owner=user)

    assert result.collection_id == first.collection_id and not result.created
    assert [(a.name, a.status, a.reason) for a in result.artifacts] == [
        ("pdf", "updated", "metadata.description,tags,upstream"),
        ("reviewer", "unchanged", None),
    ]
    pdf.refresh_from_db()
    assert pdf.id == Artifact.objects.get(name="pdf").id
    assert (pdf.source, pdf.upstream_repo, pdf.upstream_path) == (
        "acme/skills2/pdf",
        "skills2",
        "pdf",
    )
    assert pdf.tags == ["new"] and pdf.description == "Edited."
    assert Artifact.objects.count() == 2


def test_reimport_matches_by_uuid_before_type_and_name(user):
    uuid_line = f'\nuuid = "{PDF_UUID}"'
    import_manifest(manifest(SKILL + uuid_line), owner=user)
    original = Artifact.objects.get()
    renamed = SKILL.replace('name = "pdf"', 'name = "pdf-renamed"') + uuid_line
    result = import_manifest(manifest(renamed), owner=user)
    assert [(a.name, a.status, a.reason) for a in result.artifacts] == [
        ("pdf-renamed", "updated", "name")
    ]
    assert Artifact.objects.get().id == original.id


def test_an_absent_key_leaves_the_stored_value_and_unnamed_artifacts_stay(user):
    import_manifest(
        manifest(SKILL + '\ntags = ["keep"]\n\n[artifacts.metadata]\ntitle = "Kept"', AGENT),
        owner=user,
    )
    result = import_manifest(manifest(SKILL), owner=user)
    assert [(a.name, a.status) for a in result.artifacts] == [("pdf", "unchanged")]
    pdf = Artifact.objects.get(name="pdf")
    assert (pdf.tags, pdf.title) == (["keep"], "Kept")
    assert Artifact.objects.filter(name="reviewer").exists()


def test_an_artifact_of_the_same_name_but_another_uuid_is_skipped(user):
    import_manifest(manifest(SKILL + f'\nuuid = "{PDF_UUID}"'), owner=user)
    stranger = SKILL.replace("acme/skills/skills/pdf", "other/repo") + (
        '\nuuid = "9a9a9a9a-1b1b-4c4c-8d8d-0e0e0e0e0e0e"'
    )
    result = import_manifest(manifest(stranger), owner=user)
    assert [(a.status, a.reason) for a in result.artifacts] == [("skipped", "uuid_conflict")]
    assert Artifact.objects.get().source == "acme/skills/skills/pdf"


def test_an_invalid_entry_imports_nothing(user):
    bad = AGENT.replace('path = "agents/reviewer.md"', 'path = "../../outside"')
    with pytest.raises(InvalidManifest) as caught:
        import_manifest(manifest(SKILL, bad), owner=user)
    assert list(caught.value.details) == ["artifacts[1] (agent:reviewer)"]
    assert "artifacts[1] (agent:reviewer)" in caught.value.message
    assert not Collection.objects.exists() and not Artifact.objects.exists()


def test_an_invalid_reimport_leaves_the_existing_collection_as_it_was(user, full_manifest):
    result = import_manifest(full_manifest, owner=user)
    collection = Collection.objects.get(pk=result.collection_id)
    before = snapshot(collection)
    edited = full_manifest.replace('title = "PDF tools"', 'title = "Changed"').replace(
        'type = "hook"', 'type = "plugin"'
    )
    with pytest.raises(InvalidManifest) as caught:
        import_manifest(edited, owner=user)
    assert list(caught.value.details) == ["artifacts[4] (plugin:format-on-save)"]
    assert snapshot(collection) == before


def test_a_conflict_found_against_the_database_rolls_back_everything(user):
    # Entry 0 renames the artifact its uuid names onto an existing type and name: refused
    # after entry 1 was planned, so nothing at all is written.
    import_manifest(manifest(SKILL + f'\nuuid = "{PDF_UUID}"', AGENT), owner=user)
    collection = Collection.objects.get()
    before = snapshot(collection)
    clash = AGENT + f'\nuuid = "{PDF_UUID}"'
    new = SKILL.replace('name = "pdf"', 'name = "fresh"')
    with pytest.raises(InvalidManifest) as caught:
        import_manifest(manifest(clash, new), owner=user)
    assert list(caught.value.details) == ["artifacts[0] (agent:reviewer)"]
    assert snapshot(collection) == before


def test_dry_run_reports_and_writes_nothing(user, full_manifest):
    result = import_manifest(full_manifest, owner=user, dry_run=True)
    assert result.dry_run and result.created and result.collection_id is None
    assert {a.status for a in result.artifacts} == {"created"}
    assert not Collection.objects.exists()

    import_manifest(full_manifest, owner=user)
    collection = Collection.objects.get()
    before = snapshot(collection)
    edited = full_manifest.replace('title = "PDF tools"', 'title = "Changed"')
    result = import_manifest(edited, owner=user, dry_run=True)
    assert (result.collection_id, result.created) == (collection.id, False)
    assert ("pdf-tools", "updated", "metadata.title") in [
        (a.name, a.status, a.reason) for a in result.artifacts
    ]
    assert snapshot(collection) == before


def test_name_override_and_owner_scoping(user, other_user, full_manifest):
    mine = import_manifest(full_manifest, owner=user)
    theirs = import_manifest(full_manifest, owner=other_user)
    assert theirs.created and theirs.collection_id != mine.collection_id
    renamed = import_manifest(full_manifest, owner=user, name="  copy  ")
    assert renamed.created
    assert Collection.objects.get(pk=renamed.collection_id).name == "copy"


def test_a_manifest_without_a_name_needs_one(user):
    with pytest.raises(InvalidManifest) as caught:
        import_manifest(manifest(SKILL, collection='version = "1"'), owner=user)
    assert list(caught.value.details) == ["collection.name"]
    result = import_manifest(manifest(SKILL, collection='version = "1"'), owner=user, name="n")
    assert result.created


def test_export_filename_is_safe():
    assert manifest_filename(Collection(name='My "best" skills/2025')) == (
        "My _best_ skills_2025.toml"
    )
    assert manifest_filename(Collection(name="Café ☕")) == "Cafe.toml"
    assert manifest_filename(Collection(name="../..")) == "collection.toml"


# --- git sources (SPEC 12) ---------------------------------------------------------------


GIT_HTTPS = """
name = "sql-review"
type = "skill"
path = "skills/sql-review"
origin = "github"
upstream = "git+https://git.example.org/team/skills.git//skills/sql-review"
version_spec = "v1.0.0"
added = "2025-11-02T14:00:00Z"
"""
GIT_FILE = """
name = "standup"
type = "command"
path = "commands/standup.md"
origin = "github"
upstream = "git+file:///srv/git/commands.git//commands/standup.md@main"
version_spec = "latest"
resolved_sha = "0123456789abcdef0123456789abcdef01234567"
added = "2025-11-02T14:00:00Z"
"""


@pytest.fixture
def git_allowed(settings):
    settings.GIT_ALLOWED_HOSTS = ["git.example.org"]
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_LOCAL_ROOTS = ["/srv/git"]


def test_git_sources_keep_their_pins_and_round_trip(user, git_allowed):
    result = import_manifest(manifest(GIT_HTTPS, GIT_FILE), owner=user)
    collection = Collection.objects.get(pk=result.collection_id)
    review = collection.artifacts.get(name="sql-review")
    assert review.source == "git+https://git.example.org/team/skills.git//skills/sql-review@v1.0.0"
    assert (review.source_kind, review.upstream_path, review.upstream_ref) == (
        "git",
        "skills/sql-review",
        "v1.0.0",
    )
    standup = collection.artifacts.get(name="standup")
    assert standup.source == "git+file:///srv/git/commands.git//commands/standup.md@main"
    assert (standup.source_kind, standup.upstream_ref) == ("git", "main")
    assert standup.resolved_sha == "0123456789abcdef0123456789abcdef01234567"

    before = snapshot(collection)
    exported = export_manifest(collection)
    entries = {e["name"]: e for e in tomllib.loads(exported)["artifacts"]}
    assert entries["sql-review"]["upstream"] == (
        "git+https://git.example.org/team/skills.git//skills/sql-review"
    )
    assert entries["sql-review"]["version_spec"] == "v1.0.0"
    again = import_manifest(exported, owner=user)
    assert {a.status for a in again.artifacts} == {"unchanged"}
    assert snapshot(collection) == before


def test_a_git_source_changed_on_the_site_exports_with_its_ref_as_version_spec(user, git_allowed):
    collection = CollectionFactory(owner=user)
    ArtifactFactory(
        collection=collection,
        name="x",
        source="git+https://git.example.org/team/skills.git//skills/x@release-2",
    )
    [entry] = tomllib.loads(export_manifest(collection))["artifacts"]
    assert entry["upstream"] == "git+https://git.example.org/team/skills.git//skills/x"
    assert entry["version_spec"] == "release-2"
    assert {
        a.status
        for a in import_manifest(
            export_manifest(collection), owner=user, name=collection.name
        ).artifacts
    } == {"unchanged"}


def test_a_git_source_of_a_host_not_allowed_is_an_invalid_entry(user, settings):
    settings.GIT_ALLOWED_HOSTS = []
    settings.GIT_ALLOW_LOCAL = False
    with pytest.raises(InvalidManifest) as caught:
        import_manifest(manifest(GIT_HTTPS, GIT_FILE), owner=user)
    details = caught.value.details
    assert set(details) == {"artifacts[0] (skill:sql-review)", "artifacts[1] (command:standup)"}
    assert "GIT_ALLOWED_HOSTS" in details["artifacts[0] (skill:sql-review)"][0]
    assert "GIT_ALLOW_LOCAL" in details["artifacts[1] (command:standup)"][0]
    assert not Collection.objects.exists()


def test_unknown_keys_that_look_like_a_kept_date_come_back_as_written(user):
    # A table's own keys `$toml` and `value` are the shape a date is stored in; they are the
    # user's keys here, and an export writes them back as such.
    text = manifest(SKILL + '"$toml" = "date"\nvalue = "2025-11-02"\n')
    collection = Collection.objects.get(pk=import_manifest(text, owner=user).collection_id)
    [entry] = tomllib.loads(export_manifest(collection))["artifacts"]
    assert (entry["$toml"], entry["value"]) == ("date", "2025-11-02")
