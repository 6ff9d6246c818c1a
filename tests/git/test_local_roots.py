"""git+file sources are read only from under GIT_LOCAL_ROOTS, after symbolic links are resolved
(SPEC 18): refused with a 400 when written (artifacts, discovery, import), `unsupported_source`
when stored; the attack was reading any repository on the server's disk."""

import json
from pathlib import Path

import pytest

from collections_app.models import Artifact
from refresher.exceptions import InvalidSource
from refresher.sources import SourceKind, parse_source
from tests.factories import ArtifactFactory, CollectionFactory
from tests.gitrepo import LocalRepo
from tests.ops.procs import ROOT, run_python, site_env

pytestmark = pytest.mark.django_db

SKILL = "---\nname: notes\ndescription: Private notes.\n---\nSecret body.\n"


@pytest.fixture
def disk(settings, tmp_path):
    """A root the site may read, a repository inside it and one outside it, and a link under
    the root that leads to the one outside."""
    root, elsewhere = tmp_path / "allowed", tmp_path / "elsewhere"
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_LOCAL_ROOTS = [str(root)]
    settings.GIT_CACHE_DIR = tmp_path / "git-cache"
    inside = LocalRepo(root / "team" / "skills")
    inside.commit({"skills/notes/SKILL.md": SKILL})
    outside = LocalRepo(elsewhere / "private" / "secrets")
    outside.commit({"skills/notes/SKILL.md": SKILL})
    (root / "team" / "link").symlink_to(outside.path)
    return {
        "inside": inside.source("skills/notes"),
        "outside": outside.source("skills/notes"),
        "link": f"git+file://{root / 'team' / 'link'}//skills/notes",
        "dotdot": f"git+file://{root}/../elsewhere/private/secrets//skills/notes",
    }


REFUSED = ["outside", "link", "dotdot"]


def test_only_repositories_under_a_root_are_sources(disk):
    assert parse_source(disk["inside"], strict=True).kind is SourceKind.GIT
    for name in REFUSED:
        with pytest.raises(InvalidSource):
            parse_source(disk[name], strict=True)
    assert parse_source(disk["outside"]).kind is SourceKind.UNSUPPORTED
    assert parse_source(disk["link"]).kind is SourceKind.UNSUPPORTED
    # `..` is no path a source may spell at all: stored, it is an `invalid_source` entry.
    with pytest.raises(InvalidSource, match=r"no '\.\.'"):
        parse_source(disk["dotdot"])


def test_the_message_names_the_path_as_written_not_where_a_link_leads(disk, tmp_path):
    with pytest.raises(InvalidSource) as caught:
        parse_source(disk["link"], strict=True)
    assert "GIT_LOCAL_ROOTS" in str(caught.value)
    assert "elsewhere" not in str(caught.value)


@pytest.mark.parametrize("name", REFUSED)
def test_creating_or_editing_an_artifact_outside_the_roots_is_a_400(api, user, disk, name):
    collection = CollectionFactory(owner=user)
    created = api.post(
        "/api/v1/artifacts/",
        {"collection": str(collection.pk), "type": "skill", "name": "n", "source": disk[name]},
        format="json",
    )
    assert created.status_code == 400, created.content
    assert "source" in created.json()["details"]
    artifact = ArtifactFactory(collection=collection, name="ok", source=disk["inside"])
    edited = api.patch(f"/api/v1/artifacts/{artifact.pk}/", {"source": disk[name]}, format="json")
    assert edited.status_code == 400, edited.content
    assert Artifact.objects.get(pk=artifact.pk).source == disk["inside"]


@pytest.mark.parametrize("name", REFUSED)
def test_discovering_outside_the_roots_is_a_400_and_lists_nothing(api, user, disk, name):
    collection = CollectionFactory(owner=user)
    source = disk[name].split("//skills")[0]
    response = api.post(
        f"/api/v1/collections/{collection.pk}/discover",
        {"source": source, "dry_run": True},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "artifacts" not in response.json()
    assert "notes" not in json.dumps(response.json())


def test_importing_a_source_outside_the_roots_is_a_400(api, disk):
    text = (
        '[collection]\nname = "stolen"\n[[artifacts]]\nname = "notes"\ntype = "skill"\n'
        f'origin = "github"\nupstream = "{disk["outside"]}"\n'
    )
    response = api.post("/api/v1/collections/import", data=text, content_type="application/toml")
    assert response.status_code == 400, response.content
    assert "GIT_LOCAL_ROOTS" in json.dumps(response.json()["details"])


def test_a_stored_source_outside_the_roots_is_unsupported_and_never_read(api, user, disk, settings):
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="inside", source=disk["inside"])
    # Stored while the roots still allowed it; the site's roots changed since.
    settings.GIT_LOCAL_ROOTS = [str(ROOT / "var")]
    response = api.post(
        f"/api/v1/collections/{collection.pk}/refresh", {"mode": "sync"}, format="json"
    )
    assert response.status_code == 200, response.content
    [entry] = response.json()["entries"]
    assert (entry["status"], entry["reason"]) == ("skipped", "unsupported_source")
    assert Artifact.objects.get(name="inside").content == ""


def test_the_sites_own_git_cache_is_never_a_source_even_under_a_root(disk, settings):
    # The cache holds the repositories other collections' sources fetched.
    root = settings.GIT_LOCAL_ROOTS[0]
    settings.GIT_CACHE_DIR = f"{root}/git-cache"
    LocalRepo(Path(root) / "git-cache" / "0123abcd").commit({"skills/notes/SKILL.md": SKILL})
    source = f"git+file://{root}/git-cache/0123abcd//skills/notes"
    with pytest.raises(InvalidSource, match="GIT_CACHE_DIR"):
        parse_source(source, strict=True)
    assert parse_source(source).kind is SourceKind.UNSUPPORTED


def test_the_default_root_is_the_projects_var_directory(tmp_path):
    dump = "from django.conf import settings; print(settings.GIT_LOCAL_ROOTS)"
    result = run_python(dump, site_env(tmp_path, GIT_LOCAL_ROOTS=""))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == repr([str(ROOT / "var")])
