"""The offline demo of `make run`: seed_demo builds a local git repository from the bundled
examples and a collection from it; then the README's loop works: edit upstream, refresh, see the
diff, roll back."""

from io import StringIO

import pytest
from django.core.management import call_command

from collections_app.demo import demo_repository_path
from collections_app.management.commands.seed_demo import OFFLINE_COLLECTION
from collections_app.models import Artifact, Collection
from tests.conftest import client_for
from tests.gitrepo import LocalRepo

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_site(settings, tmp_path_factory):
    settings.VAR_DIR = tmp_path_factory.mktemp("var")
    settings.GIT_CACHE_DIR = tmp_path_factory.mktemp("gitcache")
    settings.GIT_ALLOW_LOCAL = True
    return settings


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_builds_the_repository_and_a_synced_collection(demo_site):
    output = seed()
    assert "Offline demo collection" in output
    collection = Collection.objects.get(name=OFFLINE_COLLECTION)
    artifacts = {(a.type, a.name): a for a in collection.artifacts.all()}
    assert set(artifacts) == {
        ("skill", "commit-message"),
        ("skill", "sql-review"),
        ("agent", "test-writer"),
        ("command", "standup"),
        ("hook", "demo-skills"),
        ("mcp", "demo-skills"),
    }
    sql = artifacts[("skill", "sql-review")]
    assert sql.author == "Data Platform Team" and sql.license == "Apache-2.0"
    assert sql.topics == ["databases", "review", "sql"]
    assert sql.content.startswith("---\nname: sql-review") and sql.content_sha
    assert artifacts[("skill", "commit-message")].author == "skillmeat"  # the owner segment

    # Seeding again changes nothing.
    seed()
    assert Artifact.objects.filter(collection=collection).count() == 6


def test_without_local_git_the_offline_demo_is_skipped(demo_site):
    demo_site.GIT_ALLOW_LOCAL = False
    assert "Offline demo skipped" in seed()
    assert not Collection.objects.filter(name=OFFLINE_COLLECTION).exists()


def test_edit_upstream_refresh_see_the_diff_roll_back(demo_site):
    seed()
    collection = Collection.objects.get(name=OFFLINE_COLLECTION)
    api = client_for(collection.owner)
    upstream = LocalRepo.existing(demo_repository_path())
    name = "skills/commit-message/SKILL.md"
    old = (
        "Write a commit message from the staged diff, a short summary line and a body that "
        "says why."
    )
    new = "Write a commit message from the staged diff, then say why in its body."
    upstream.commit({name: (upstream.path / name).read_text().replace(old, new)}, "Shorter")

    check = api.post(
        f"/api/v1/collections/{collection.pk}/refresh", {"mode": "check_only"}, format="json"
    ).json()
    by_key = {e["artifact"]: e for e in check["entries"]}
    assert by_key["skill:commit-message"]["update_available"] is True
    assert by_key["skill:sql-review"]["update_available"] is False

    run = api.post(
        f"/api/v1/collections/{collection.pk}/refresh", {"mode": "sync"}, format="json"
    ).json()
    entry = {e["artifact"]: e for e in run["entries"]}["skill:commit-message"]
    assert entry["changes"]["description"] == {"old": old, "new": new, "applied": True}
    assert Artifact.objects.get(name="commit-message").description == new

    r = api.post(f"/api/v1/refresh-runs/{run['run_id']}/rollback")
    assert r.status_code == 200, r.json()
    restored = Artifact.objects.get(name="commit-message")
    assert restored.description == old
    assert old in restored.content
