"""One hostile upstream file never stops a run or a discovery (SPEC 18): inline refreshes,
background runs and discovery over the GitHub fake and over a real local git repository."""

import pytest

from collections_app.models import Artifact
from refresher.models import RefreshRun, RunStatus
from tests.factories import ArtifactFactory, CollectionFactory
from tests.gitrepo import LocalRepo
from tests.hostile import INVALID_FRONTMATTER, INVALID_JSON
from tests.upstream import PDF_DESCRIPTION, fixture_text

pytestmark = pytest.mark.django_db

# The two reported by the red-team pass, and one of each other kind of failure.
HOSTILE_SKILLS = {
    name: INVALID_FRONTMATTER[name]
    for name in ("impossible-date", "long-integer", "long-hex-integer", "binary", "alias-bomb")
}


def upstream_files() -> dict[str, str]:
    files = {"skills/pdf/SKILL.md": fixture_text("skill-pdf.md")}
    files |= {f"skills/{name}/SKILL.md": text for name, text in HOSTILE_SKILLS.items()}
    files["mcp/.mcp.json"] = INVALID_JSON["long-integer"]
    return files


def fill(collection, source_of) -> None:
    ArtifactFactory(collection=collection, name="pdf", source=source_of("skills/pdf"))
    for name in HOSTILE_SKILLS:
        ArtifactFactory(collection=collection, name=name, source=source_of(f"skills/{name}"))
    ArtifactFactory(
        collection=collection, type="mcp", name="mcp", source=source_of("mcp/.mcp.json")
    )


def assert_only_hostile_entries_failed(body) -> None:
    entries = {e["artifact"]: e for e in body["entries"]}
    assert body["status"] == "partial", body
    assert entries["skill:pdf"]["status"] == "refreshed", entries["skill:pdf"]
    hostile = [f"skill:{name}" for name in HOSTILE_SKILLS] + ["mcp:mcp"]
    for key in hostile:
        assert entries[key]["status"] == "error", entries[key]
        assert entries[key]["error"]["code"] == "invalid_metadata", entries[key]
    assert body["summary"]["error"] == len(hostile)
    assert Artifact.objects.get(name="pdf").description == PDF_DESCRIPTION


@pytest.fixture
def on_github(github, user):
    github.add_repo("acme/skills", files=upstream_files())
    collection = CollectionFactory(owner=user)
    fill(collection, lambda path: f"acme/skills/{path}")
    return collection


@pytest.fixture
def on_git(user, settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("upstream")
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_LOCAL_ROOTS = [str(root)]
    settings.GIT_CACHE_DIR = tmp_path_factory.mktemp("gitcache")
    repo = LocalRepo(root / "acme" / "skills")
    repo.commit(upstream_files(), "hostile files among good ones")
    collection = CollectionFactory(owner=user)
    fill(collection, repo.source)
    return collection, repo


def test_an_inline_refresh_reads_every_other_artifact(api, on_github):
    response = api.post(f"/api/v1/collections/{on_github.pk}/refresh")
    assert response.status_code == 200, response.content
    assert_only_hostile_entries_failed(response.json())


def test_a_background_run_finishes_with_the_other_artifacts_refreshed(
    api, on_github, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/collections/{on_github.pk}/refresh", {"background": True}, format="json"
        )
    assert response.status_code == 202
    run = RefreshRun.objects.get(pk=response.json()["run_id"])
    assert run.status == RunStatus.PARTIAL
    assert_only_hostile_entries_failed(api.get(response["Location"]).json())


def test_an_inline_refresh_of_a_git_repository_reads_every_other_artifact(api, on_git):
    collection, _ = on_git
    response = api.post(f"/api/v1/collections/{collection.pk}/refresh")
    assert response.status_code == 200, response.content
    assert_only_hostile_entries_failed(response.json())


def discovered(body) -> dict[str, tuple[str, str]]:
    return {a["path"]: (a["status"], a["reason"]) for a in body["artifacts"]}


@pytest.mark.parametrize("where", ["github", "git"])
def test_discovery_marks_the_hostile_file_invalid_and_finds_the_rest(api, user, where, request):
    if where == "github":
        request.getfixturevalue("on_github")
        source = "acme/skills"
    else:
        source = request.getfixturevalue("on_git")[1].source()
    target = CollectionFactory(owner=user, name="target")
    response = api.post(
        f"/api/v1/collections/{target.pk}/discover", {"source": source}, format="json"
    )
    assert response.status_code == 200, response.content
    found = discovered(response.json())
    assert found["skills/pdf"] == ("added", "")
    for name in HOSTILE_SKILLS:
        assert found[f"skills/{name}"] == ("invalid", "invalid_metadata")
    assert list(target.artifacts.values_list("name", flat=True)) == ["pdf"]
