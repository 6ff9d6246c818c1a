"""manage.py import_collection and export_collection: the same import and export as the API."""

import tomllib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collections_app.manifest.export import export_manifest
from collections_app.models import Collection
from tests.manifest.conftest import FIXTURES, SKILL, manifest

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_import_collection_creates_and_reports(user):
    out = run("import_collection", str(FIXTURES / "full.toml"), "--owner", "alice")
    collection = Collection.objects.get(owner=user, name="work")
    assert collection.artifacts.count() == 6
    assert "skill:pdf-tools" in out and "created" in out
    assert f"Created collection {collection.id}: 6 created." in out


def test_import_collection_dry_run_and_name(user):
    path = str(FIXTURES / "full.toml")
    out = run("import_collection", path, "--owner", "alice", "--name", "copy", "--dry-run")
    assert "Dry run, nothing written: a new collection; 6 created." in out
    assert not Collection.objects.exists()
    run("import_collection", path, "--owner", "alice", "--name", "copy")
    assert Collection.objects.get().name == "copy"


def test_import_collection_refuses_an_invalid_manifest_naming_the_entries(user, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(manifest(SKILL, SKILL.replace("skills/pdf", "../../x")))
    with pytest.raises(CommandError) as caught:
        run("import_collection", str(bad), "--owner", "alice")
    assert "artifacts[1] (skill:pdf)" in str(caught.value)
    assert "path: must not contain '..'." in str(caught.value)
    assert not Collection.objects.exists()


def test_import_collection_needs_a_known_owner_and_an_existing_file(user, tmp_path):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("import_collection", str(FIXTURES / "full.toml"), "--owner", "nobody")
    with pytest.raises(CommandError, match="No manifest file"):
        run("import_collection", str(tmp_path / "missing.toml"), "--owner", "alice")


def test_export_collection_writes_what_the_api_exports(user, tmp_path):
    run("import_collection", str(FIXTURES / "full.toml"), "--owner", "alice")
    collection = Collection.objects.get()
    assert run("export_collection", str(collection.id)) == export_manifest(collection)
    target = tmp_path / "out.toml"
    run("export_collection", "alice/work", "-o", str(target))
    assert target.read_text() == export_manifest(collection)
    assert tomllib.loads(target.read_text())["collection"]["name"] == "work"


def test_export_collection_of_an_unknown_collection_fails(user):
    with pytest.raises(CommandError, match="No collection named"):
        run("export_collection", "alice/none")
    with pytest.raises(CommandError, match="neither a collection id"):
        run("export_collection", "garbage")
