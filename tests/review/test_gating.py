"""What a run does with new content it found: findings that hold it back, rejections, the
cooldown, and the never-erase and rollback rules for approved syncs (SPEC 17), through both
GitHub read plans and for git sources."""

from datetime import UTC, datetime, timedelta

import pytest

from refresher.models import Mode, PendingUpdate, RefreshEntry, Trigger
from refresher.rollback import rollback_run
from tests.review_kit import EXPECTED, artifact, codes, files, fixture, sync

pytestmark = pytest.mark.django_db

SKILL = "skills/release-notes/SKILL.md"


@pytest.fixture
def synced(kit, user):
    """The kit synced once by a collection that does not review updates."""
    kit.create()
    collection = kit.collection(user, auto_refresh_mode=Mode.SYNC)
    assert sync(collection).refreshed == 4
    return collection


def entry_of(run, collection, name):
    return RefreshEntry.objects.get(run=run, artifact=artifact(collection, name))


def approve(api, collection, names, **extra):
    ids = [str(artifact(collection, name).pk) for name in names]
    return api.post(
        f"/api/v1/collections/{collection.pk}/updates/approve",
        {"artifact_ids": ids, **extra},
        format="json",
    )


def test_findings_at_the_threshold_hold_content_back_until_accepted(kit, synced, api):
    synced.block_findings = "high"
    synced.save()
    change = kit.change()
    run = sync(synced)
    before = files("before")
    for name in ("formatter", "github-tools", "release-notes"):  # each has a high finding
        entry = entry_of(run, synced, name)
        assert entry.status == "skipped" and entry.reason == "blocked_by_findings"
        assert not entry.applied and codes(entry.details["findings"]) == EXPECTED[name]
        assert PendingUpdate.objects.get(artifact__name=name).upstream_sha == change
    assert artifact(synced, "formatter").content == before["hooks/hooks.json"]
    agent = entry_of(run, synced, "test-writer")  # medium and low only: taken
    assert agent.status == "refreshed" and agent.applied
    assert artifact(synced, "test-writer").content == fixture("agent", "after")
    assert not PendingUpdate.objects.filter(artifact__name="test-writer").exists()

    refused = approve(api, synced, ["formatter"]).json()
    assert [(e["status"], e["reason"]) for e in refused["entries"]] == [
        ("skipped", "blocked_by_findings")
    ]
    assert PendingUpdate.objects.filter(artifact__name="formatter", state="pending").exists()

    taken = approve(api, synced, ["formatter", "github-tools"], accept_findings=True)
    assert taken.status_code == 200
    assert {e["artifact"]: e["status"] for e in taken.json()["entries"]} == {
        "hook:formatter": "refreshed",
        "mcp:github-tools": "refreshed",
    }
    assert artifact(synced, "formatter").content == fixture("hooks", "after")
    assert artifact(synced, "github-tools").resolved_sha == change
    assert list(PendingUpdate.objects.values_list("artifact__name", flat=True)) == ["release-notes"]


def test_a_medium_threshold_holds_back_widened_tools_too(kit, synced):
    synced.block_findings = "medium"
    synced.save()
    kit.change()
    run = sync(synced)
    assert entry_of(run, synced, "test-writer").reason == "blocked_by_findings"
    assert artifact(synced, "test-writer").content == fixture("agent", "before")


def test_a_rejected_update_stays_away_until_the_artifacts_own_content_changes(kit, synced, api):
    synced.review_updates = True
    synced.save()
    kit.change()
    sync(synced, trigger=Trigger.SCHEDULE)
    skill = artifact(synced, "release-notes")
    rejected = api.post(
        f"/api/v1/collections/{synced.pk}/updates/reject",
        {"artifact_ids": [str(skill.pk)]},
        format="json",
    )
    assert rejected.status_code == 200

    def pending_names():
        return set(
            PendingUpdate.objects.filter(state="pending").values_list("artifact__name", flat=True)
        )

    again = sync(synced, trigger=Trigger.SCHEDULE)
    assert entry_of(again, synced, "release-notes").reason == "update_rejected"
    assert "release-notes" not in pending_names()
    kit.commit({"README.md": "# Kit\n\nElsewhere in the repository.\n"}, "Docs")
    sync(synced, trigger=Trigger.SCHEDULE)
    assert "release-notes" not in pending_names()
    assert PendingUpdate.objects.get(artifact=skill).state == "rejected"

    newer = fixture("skill", "after").replace("# Release notes", "# Release notes, v3")
    third = kit.commit({SKILL: newer}, "Retitle the skill")
    sync(synced, trigger=Trigger.SCHEDULE)
    proposal = PendingUpdate.objects.get(artifact=skill)
    assert proposal.state == "pending" and proposal.upstream_sha == third
    assert "release-notes" in pending_names()


def test_a_fresh_commit_is_neither_proposed_nor_taken_until_old_enough(kit, synced):
    synced.min_update_age_hours = 24
    synced.save()
    now = datetime.now(UTC)
    fresh = fixture("skill", "before").replace("group them by kind", "group them by scope")
    kit.commit({SKILL: fresh}, "Fresh wording", date=now - timedelta(hours=2))
    run = sync(synced)
    entry = entry_of(run, synced, "release-notes")
    assert entry.reason == "too_new" and entry.update_available is True
    assert not entry.changes["content"]["applied"]
    assert artifact(synced, "release-notes").content == fixture("skill", "before")
    assert not PendingUpdate.objects.exists()
    # The same two-hour-old commit is old enough for a shorter cooldown.
    synced.min_update_age_hours = 1
    synced.save()
    taken = entry_of(sync(synced), synced, "release-notes")
    assert taken.status == "refreshed" and taken.applied
    assert artifact(synced, "release-notes").content == fresh


def test_a_back_dated_commit_is_taken_and_a_fresh_one_on_top_is_held(kit, synced):
    synced.min_update_age_hours = 24
    synced.review_updates = True
    synced.save()
    old = fixture("agent", "before").replace("never change it", "never edit it")
    back_dated = kit.commit(
        {"agents/test-writer.md": old}, "Old change", date=datetime.now(UTC) - timedelta(days=3)
    )
    scheduled = sync(synced, trigger=Trigger.SCHEDULE)
    assert entry_of(scheduled, synced, "test-writer").reason == "awaiting_review"
    assert PendingUpdate.objects.get().upstream_sha == back_dated
    kit.commit({"agents/test-writer.md": old + "\nNew today.\n"}, "Fresh change")
    later = sync(synced, trigger=Trigger.SCHEDULE)
    assert entry_of(later, synced, "test-writer").reason == "too_new"
    # The proposal of the reviewed, old-enough commit stands.
    assert PendingUpdate.objects.get().upstream_sha == back_dated


def test_an_approved_sync_never_erases_and_its_rollback_restores_the_old_content(kit, synced, api):
    agent = artifact(synced, "test-writer")
    agent.description = "Our own words"
    agent.save()
    synced.review_updates = True
    synced.save()
    # No description, and a body with no paragraph to fall back on: nothing upstream to take.
    blank = "---\nname: test-writer\ndescription: ''\ntools: Read, Grep, Glob\n---\n# Test writer\n"
    change = kit.commit({"agents/test-writer.md": blank}, "Drop the description")
    sync(synced, trigger=Trigger.SCHEDULE)
    response = approve(api, synced, ["test-writer"])
    assert response.status_code == 200, response.content
    agent.refresh_from_db()
    assert agent.content == blank and agent.resolved_sha == change
    assert agent.description == "Our own words"  # a blank upstream value never erases

    from refresher.models import RefreshRun

    run = RefreshRun.objects.get(pk=response.json()["run_id"])
    report = rollback_run(run)
    assert report["restored"] >= 1
    agent.refresh_from_db()
    assert agent.content == fixture("agent", "before")
    assert agent.resolved_sha != change and agent.description == "Our own words"
