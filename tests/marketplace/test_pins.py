"""Pins move only with content (SPEC 15): through the real refresh path, against a local git
repository, what the manifest pins is what the last sync took, and a rollback takes it back."""

import pytest

from refresher.models import Mode, RunStatus
from refresher.options import RefreshOptions
from refresher.rollback import rollback_run
from refresher.service import refresh_now
from tests.factories import ArtifactFactory, CollectionFactory
from tests.marketplace_kit import SKILL_MD

pytestmark = pytest.mark.django_db

SKILL_V2 = SKILL_MD.replace("Read, fill and merge PDF documents.", "Read, fill and sign PDFs.")


def pins(api, collection) -> dict[str, str]:
    answer = api.get(f"/api/v1/collections/{collection.pk}/marketplace.json")
    if answer.status_code == 409:  # nothing pinned: no manifest at all
        assert answer.json()["code"] == "marketplace_empty"
        return {}
    assert answer.status_code == 200
    return {p["name"]: p["source"]["sha"] for p in answer.json()["plugins"]}


def run(collection, mode: str):
    done = refresh_now(collection, RefreshOptions(mode=mode))
    assert done.status == RunStatus.COMPLETED, list(done.entries.values("error_message"))
    return done


def test_only_a_sync_moves_the_pins_and_its_rollback_moves_them_back(api, synced, upstream):
    first = upstream.head()
    assert set(pins(api, synced).values()) == {first}
    second = upstream.commit({"skills/pdf/SKILL.md": SKILL_V2}, "pdf: signing")

    run(synced, Mode.CHECK_ONLY)
    assert pins(api, synced)["pdf"] == first

    run(synced, Mode.METADATA_ONLY)
    manifest = api.get(f"/api/v1/collections/{synced.pk}/marketplace.json").json()
    pdf = next(p for p in manifest["plugins"] if p["name"] == "pdf")
    # Metadata moved on; the commit Claude Code installs did not.
    assert pdf["description"] == "Read, fill and sign PDFs."
    assert pdf["source"]["sha"] == first

    sync = run(synced, Mode.SYNC)
    assert pins(api, synced)["pdf"] == second

    rollback_run(sync, user=None)
    assert pins(api, synced)["pdf"] == first


def test_a_dry_run_sync_moves_no_pin(api, synced, upstream):
    first = upstream.head()
    upstream.commit({"skills/pdf/SKILL.md": SKILL_V2}, "pdf: signing")
    done = refresh_now(synced, RefreshOptions(mode=Mode.SYNC, dry_run=True))
    assert done.status == RunStatus.COMPLETED
    assert pins(api, synced)["pdf"] == first


def test_a_sync_changes_the_etag_so_claude_code_sees_a_new_manifest(api, synced, upstream):
    url = f"/api/v1/collections/{synced.pk}/marketplace.json"
    etag = api.get(url)["ETag"]
    run(synced, Mode.SYNC)  # nothing changed upstream
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    upstream.commit({"skills/pdf/SKILL.md": SKILL_V2}, "pdf: signing")
    run(synced, Mode.SYNC)
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_synced_hook_is_inlined_from_the_commit_it_is_pinned_to(api, synced, upstream):
    changed = upstream.commit(
        {
            "hooks/hooks.json": '{"hooks": {"Stop": [{"hooks": '
            '[{"type": "command", "command": "echo done"}]}]}}\n'
        },
        "hooks: on stop",
    )
    url = f"/api/v1/collections/{synced.pk}/marketplace.json"

    def hook() -> dict[str, object]:
        manifest = api.get(url).json()
        return next(p for p in manifest["plugins"] if p["category"] == "hook")

    run(synced, Mode.METADATA_ONLY)
    assert list(hook()["hooks"]) == ["PostToolUse"]  # the configuration of the pinned commit
    run(synced, Mode.SYNC)
    assert hook()["hooks"] == {"Stop": [{"hooks": [{"type": "command", "command": "echo done"}]}]}
    assert hook()["source"]["sha"] == changed


@pytest.fixture(params=["rest", "graphql"])
def read_plan(request) -> str:
    return str(request.param)


def test_github_artifacts_are_pinned_to_the_synced_commit_of_their_clone_url(api, user, github):
    first = github.add_repo("Acme/Kit", files={"skills/pdf/SKILL.md": SKILL_MD})
    collection = CollectionFactory(owner=user, name="From GitHub")
    ArtifactFactory(collection=collection, name="pdf", source="Acme/Kit/skills/pdf@main")
    run(collection, Mode.METADATA_ONLY)
    assert pins(api, collection) == {}  # read, never synced: nothing to pin yet

    run(collection, Mode.SYNC)
    manifest = api.get(f"/api/v1/collections/{collection.pk}/marketplace.json").json()
    assert manifest["plugins"][0]["source"] == {
        "source": "git-subdir",
        "url": "https://github.com/Acme/Kit.git",
        "path": "skills/pdf",
        "sha": first,
        "ref": "main",
    }
    second = github.commit("Acme/Kit", files={"skills/pdf/SKILL.md": SKILL_V2})
    run(collection, Mode.CHECK_ONLY)
    assert pins(api, collection) == {"pdf": first}
    sync = run(collection, Mode.SYNC)
    assert pins(api, collection) == {"pdf": second}
    rollback_run(sync, user=None)
    assert pins(api, collection) == {"pdf": first}
