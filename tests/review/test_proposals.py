"""Which runs record proposals, and what a proposal lists (SPEC 17), for every kind of upstream."""

import pytest

from refresher.models import Mode, PendingUpdate, RefreshEntry, Trigger
from refresher.options import RefreshOptions
from refresher.service import launch
from tests.factories import ArtifactFactory
from tests.review_kit import SCRIPT, artifact, fixture, sync

pytestmark = pytest.mark.django_db

SKILL = "skills/release-notes/SKILL.md"


@pytest.fixture
def synced(kit, user):
    kit.create()
    collection = kit.collection(user, auto_refresh_mode=Mode.SYNC)
    sync(collection)
    return collection


def run(collection, **options):
    return launch(collection, RefreshOptions(**options), trigger=Trigger.API, inline=True).run


def test_a_check_finds_and_proposes_an_update_without_touching_the_artifact(kit, synced):
    change = kit.change()
    check = run(synced, mode=Mode.CHECK_ONLY)
    entry = RefreshEntry.objects.get(run=check, artifact=artifact(synced, "release-notes"))
    assert entry.update_available is True and entry.reason == ""
    assert artifact(synced, "release-notes").content == fixture("skill", "before")
    assert PendingUpdate.objects.filter(state="pending").count() == 4
    assert PendingUpdate.objects.get(artifact__name="release-notes").upstream_sha == change


def test_a_dry_run_proposes_nothing_and_a_sync_clears_what_it_takes(kit, synced):
    kit.change()
    dry = run(synced, mode=Mode.SYNC, dry_run=True)
    assert dry.updates_available == 4 and not PendingUpdate.objects.exists()
    run(synced, mode=Mode.CHECK_ONLY)
    assert PendingUpdate.objects.count() == 4
    run(synced, mode=Mode.SYNC)
    assert not PendingUpdate.objects.exists()


def test_a_pinned_artifact_is_never_proposed(kit, synced):
    first = artifact(synced, "release-notes").resolved_sha
    ArtifactFactory(
        collection=synced,
        type="skill",
        name="pinned-notes",
        source=kit.source("skills/release-notes") + f"@{first}",
    )
    run(synced, mode=Mode.SYNC)  # records the pinned artifact's content
    kit.change()
    run(synced, mode=Mode.CHECK_ONLY)
    names = set(PendingUpdate.objects.values_list("artifact__name", flat=True))
    assert "release-notes" in names and "pinned-notes" not in names


def test_an_artifact_current_again_loses_its_proposal(kit, synced):
    kit.change()
    run(synced, mode=Mode.CHECK_ONLY)
    assert PendingUpdate.objects.filter(artifact__name="release-notes").exists()
    # The skill's directory as it was: its main file back, the new script gone.
    kit.commit({SKILL: fixture("skill", "before"), SCRIPT: None}, "Revert the skill")
    run(synced, mode=Mode.CHECK_ONLY)
    assert not PendingUpdate.objects.filter(artifact__name="release-notes").exists()


def test_a_proposal_lists_at_most_twenty_commits_newest_first(kit, synced):
    text = fixture("skill", "before")
    shas = []
    for i in range(23):
        text += f"\nStep {i}.\n"
        shas.append(kit.commit({SKILL: text}, f"Step {i}"))
    kit.commit({"README.md": "# Kit\n\nNot the skill.\n"}, "Docs")
    run(synced, mode=Mode.CHECK_ONLY)
    proposal = PendingUpdate.objects.get(artifact__name="release-notes")
    assert proposal.commits_truncated is True
    assert [c["sha"] for c in proposal.commits] == shas[::-1][:20]
    assert proposal.commits[0]["message"] == "Step 22"
    assert all(c["message"] != "Docs" for c in proposal.commits)  # not the skill's path
