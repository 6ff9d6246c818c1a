"""POST /api/v1/collections/{id}/discover over the fixture repository (every artifact kind and a
plugin marketplace) in the GitHub fake, and over the same files in a real git repository."""

import pytest

from collections_app.models import Artifact
from refresher.models import RefreshRun
from tests.discovery import KIT_FOUND, add_kit_repo, as_set, kit_files
from tests.factories import ArtifactFactory, CollectionFactory
from tests.gitrepo import LocalRepo

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user)


@pytest.fixture
def kit(github):
    return add_kit_repo(github)


def discover(api, collection, **body):
    return api.post(f"/api/v1/collections/{collection.pk}/discover", body, format="json")


def test_a_dry_run_finds_every_kind_and_adds_nothing(api, collection, kit, github):
    github.reset_log()
    r = discover(api, collection, source=kit, dry_run=True)
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["source"] == "acme/claude-kit"
    assert body["ref"] == "main"
    assert body["commit"] == github.head(kit)
    assert body["dry_run"] is True and body["run"] is None
    assert as_set(body["artifacts"]) == KIT_FOUND
    assert not Artifact.objects.exists()
    # One repository answer, one ref, ONE recursive tree, then the main files' blobs in a batch.
    assert github.count(kind="tree") == 1
    assert github.count(kind="repo") == 1
    named = [a for a in body["artifacts"] if a["type"] in ("skill", "agent", "command")]
    assert github.count(kind="blob") == len(named) + 1  # + the marketplace manifest
    assert github.count(kind="contents") == 0


def test_found_artifacts_carry_the_sources_they_are_added_with(api, collection, kit):
    body = discover(api, collection, source=f"https://github.com/{kit}", dry_run=True).json()
    sources = {a["name"]: a["source"] for a in body["artifacts"] if a["status"] == "found"}
    assert sources["pdf-tools"] == "acme/claude-kit/skills/pdf"
    assert sources["release"] == "acme/claude-kit/plugins/release-tools/commands/release.md"
    assert sources["security-guard"].startswith("acme/claude-kit/plugins/security-guard/")


def test_discovery_adds_the_new_artifacts_and_reports_existing_ones(api, collection, kit):
    ArtifactFactory(collection=collection, type="skill", name="pdf-tools", source="")
    r = discover(api, collection, source=kit)
    assert r.status_code == 200
    statuses = {(a["type"], a["name"]): a["status"] for a in r.json()["artifacts"]}
    assert statuses[("skill", "pdf-tools")] == "exists"
    assert statuses[("skill", "changelog")] == "added"
    assert statuses[("hook", "release-tools")] == "added"
    added = Artifact.objects.filter(collection=collection).exclude(name="pdf-tools")
    added_entries = [a for a in r.json()["artifacts"] if a["status"] == "added"]
    assert added.count() == len(added_entries) == 11
    hook = added.get(type="hook", name="release-tools")
    assert hook.source == "acme/claude-kit/plugins/release-tools/hooks/hooks.json"
    assert (hook.upstream_owner, hook.upstream_repo) == ("acme", "claude-kit")
    # The existing artifact was left alone.
    assert Artifact.objects.get(name="pdf-tools").source == ""

    again = discover(api, collection, source=kit).json()
    assert {a["status"] for a in again["artifacts"]} == {"exists", "invalid"}
    assert Artifact.objects.filter(collection=collection).count() == 12


def test_types_and_a_path_narrow_the_search(api, collection, kit):
    body = discover(
        api, collection, source=f"{kit}/plugins/release-tools", types=["agent", "hook"]
    ).json()
    assert as_set(body["artifacts"]) == {
        (
            "agent",
            "release-manager",
            "plugins/release-tools/agents/release-manager.md",
            "added",
            "",
        ),
        ("hook", "release-tools", "plugins/release-tools/hooks/hooks.json", "added", ""),
    }


def test_refresh_syncs_the_added_artifacts_and_includes_the_run(api, collection, kit, github):
    r = discover(api, collection, source=f"{kit}/skills", refresh=True, types=["skill"])
    body = r.json()
    assert r.status_code == 200, body
    run = body["run"]
    assert run is not None and run["mode"] == "sync"
    assert run["summary"]["total"] == 2  # pdf-tools and changelog; broken was not added
    assert RefreshRun.objects.count() == 1
    pdf = Artifact.objects.get(name="pdf-tools")
    assert pdf.description.startswith("Extract text and tables from PDF files")
    assert pdf.content.startswith("---\nname: pdf-tools")
    assert pdf.content_sha == github.tree_sha(kit, "skills/pdf")


@pytest.mark.parametrize(
    "source",
    ["acme/nothing-here", "acme/claude-kit@no-such-branch", "acme/claude-kit/no/such/dir"],
)
def test_a_missing_repository_ref_or_path_is_an_entry_and_nothing_is_added(
    api, collection, kit, source
):
    r = discover(api, collection, source=source, refresh=True)
    assert r.status_code == 200
    body = r.json()
    assert [(a["type"], a["status"], a["reason"]) for a in body["artifacts"]] == [
        (None, "invalid", "upstream_not_found")
    ]
    assert body["run"] is None
    assert not Artifact.objects.exists()


def test_an_unreachable_github_is_a_503_and_nothing_is_added(api, collection, kit, github):
    github.fail(r"^/repos/", status=502)
    r = discover(api, collection, source=kit)
    assert r.status_code == 503
    assert r.json()["code"] == "upstream_unavailable"
    assert not Artifact.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "source"),
        ({"source": ""}, "source"),
        ({"source": "acme/../x"}, "source"),
        ({"source": "./local/skills"}, "source"),
        ({"source": "https://gitlab.com/acme/kit"}, "source"),
        ({"source": "git+https://gitlab.com/acme/kit.git"}, "source"),
        ({"source": "acme/kit", "types": ["plugin"]}, "types"),
        ({"source": "acme/kit", "dry_run": "yes"}, "dry_run"),
        ({"source": "acme/kit", "refresh": 1}, "refresh"),
        ({"source": "acme/kit", "recursive": True}, "recursive"),
    ],
)
def test_bad_requests_are_400_naming_the_field(api, collection, body, field):
    r = api.post(f"/api/v1/collections/{collection.pk}/discover", body, format="json")
    assert r.status_code == 400, r.json()
    assert r.json()["code"] == "invalid_request"
    assert field in r.json()["details"]
    assert not Artifact.objects.exists()


def test_another_users_collection_is_404_and_anonymous_is_401(other_api, anon_api, collection):
    assert discover(other_api, collection, source="acme/kit").status_code == 404
    assert discover(anon_api, collection, source="acme/kit").status_code == 401


def test_refresh_on_a_busy_collection_is_409_and_adds_nothing(api, collection, kit, user):
    RefreshRun.objects.create(collection=collection, status="running", mode="metadata_only")
    r = discover(api, collection, source=kit, refresh=True)
    assert r.status_code == 409
    assert r.json()["code"] == "refresh_in_progress"
    assert not Artifact.objects.exists()


def test_the_answer_works_without_a_trailing_slash_and_with_one(api, collection, kit):
    for url in (
        f"/api/v1/collections/{collection.pk}/discover",
        f"/api/v1/collections/{collection.pk}/discover/",
    ):
        r = api.post(url, {"source": kit, "dry_run": True}, format="json")
        assert r.status_code == 200


def test_a_git_repository_is_discovered_alike(api, collection, settings, tmp_path_factory):
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_CACHE_DIR = tmp_path_factory.mktemp("gitcache")
    repo = LocalRepo(tmp_path_factory.mktemp("upstream") / "acme" / "claude-kit")
    repo.commit(kit_files(), "the kit")
    r = discover(api, collection, source=repo.source(), dry_run=True)
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["ref"] == "main" and body["commit"] == repo.head()
    assert as_set(body["artifacts"]) == KIT_FOUND

    r = discover(api, collection, source=repo.source("plugins"), refresh=True)
    body = r.json()
    assert body["run"]["status"] == "completed", body["run"]
    hook = Artifact.objects.get(type="hook", name="security-guard")
    assert hook.source == repo.source("plugins/security-guard/hooks/hooks.json")
    assert hook.description == "Refuse rm -rf, curl | sh and writes outside the project."
    assert hook.author == "acme"


def test_a_missing_git_repository_is_an_entry(api, collection, settings, tmp_path_factory):
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_CACHE_DIR = tmp_path_factory.mktemp("gitcache")
    missing = tmp_path_factory.mktemp("none") / "gone"
    r = discover(api, collection, source=f"git+file://{missing}")
    assert r.status_code == 200
    assert [(a["status"], a["reason"]) for a in r.json()["artifacts"]] == [
        ("invalid", "upstream_not_found")
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"source": "ü/ß"},
        {"source": "a/b@"},
        {"source": "git+https://"},
        {"source": "git+file://"},
        {"source": "x" * 1001},
        {"source": "acme/kit", "types": [None]},
        {"source": "acme/kit", "types": "skill"},
        {"source": ["acme/kit"]},
        {"source": "git+https://h/%00/x.git"},
        {"source": "git+file:///\u00e9t\u00e9/repo"},
    ],
)
def test_odd_input_is_a_400_never_a_500(api, collection, github, body):
    r = api.post(f"/api/v1/collections/{collection.pk}/discover", body, format="json")
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "invalid_request"


def test_a_body_that_is_not_an_object_is_a_400(api, collection):
    r = api.post(f"/api/v1/collections/{collection.pk}/discover", [1, 2], format="json")
    assert r.status_code == 400
    r = api.post(f"/api/v1/collections/{collection.pk}/discover")
    assert r.status_code == 400 and "source" in r.json()["details"]


def test_an_exhausted_rate_limit_is_a_503_with_retry_after(api, collection, kit, github):
    github.rate_limit_remaining = 0
    r = discover(api, collection, source=kit)
    assert r.status_code == 503
    assert r.json()["details"] == {"reason": "rate_limited"}
    assert int(r["Retry-After"]) > 0
    assert not Artifact.objects.exists()
