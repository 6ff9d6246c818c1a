"""Scheduled and push runs of a reviewing collection hold content for review (SPEC 17), through
the REST and GraphQL read plans and for git sources; approving takes the reviewed commit."""

import pytest

from refresher.models import Mode, PendingUpdate, RefreshEntry, Trigger
from tests.review_kit import (
    EXPECTED,
    SCRIPT,
    artifact,
    codes,
    files,
    fixture,
    sync,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(kit, user, django_capture_on_commit_callbacks):
    """The kit synced once, then the hostile commit found by a push (or scheduled) sync run of
    a collection that reviews updates."""
    kit.create()
    collection = kit.collection(user, auto_refresh_mode=Mode.SYNC, refresh_on_push=True)
    first = sync(collection)
    assert first.status == "completed" and first.refreshed == 4, first.error_message
    collection.review_updates = True
    collection.save()
    change = kit.change()
    run = kit.upstream_run(collection, django_capture_on_commit_callbacks)
    return collection, run, change


def test_a_push_changing_four_kinds_of_artifact_is_held_with_the_right_findings(held):
    collection, run, change = held
    run.refresh_from_db()
    assert run.trigger in (Trigger.PUSH, Trigger.SCHEDULE) and run.status == "completed"
    before = files("before")
    for name, path in (
        ("formatter", "hooks/hooks.json"),
        ("github-tools", ".mcp.json"),
        ("release-notes", "skills/release-notes/SKILL.md"),
        ("test-writer", "agents/test-writer.md"),
    ):
        stored = artifact(collection, name)
        assert stored.content == before[path], name  # nothing taken
        entry = RefreshEntry.objects.get(run=run, artifact=stored)
        assert entry.reason == "awaiting_review" and entry.update_available is True
        assert entry.changes["content"]["applied"] is False
        assert codes(entry.details["findings"]) == EXPECTED[name]
        proposal = PendingUpdate.objects.get(artifact=stored)
        assert proposal.state == "pending" and proposal.upstream_sha == change
        assert proposal.current_sha == stored.resolved_sha
        assert codes(proposal.findings) == EXPECTED[name]
        assert [c["sha"] for c in proposal.commits] == [change], name
        assert proposal.commits[0]["message"] == "Tidy up the kit"
        assert proposal.diff.startswith(f"--- a/{path}\n+++ b/{path}\n")
    skill = PendingUpdate.objects.get(artifact__name="release-notes")
    assert {"path": SCRIPT, "status": "added"} in skill.files
    assert {"path": "skills/release-notes/SKILL.md", "status": "modified"} in skill.files
    assert "+allowed-tools: Read, Grep, Bash(git:*), WebFetch" in skill.diff
    hook = PendingUpdate.objects.get(artifact__name="formatter")
    assert hook.files == [{"path": "hooks/hooks.json", "status": "modified"}]
    high = next(f for f in hook.findings if f["severity"] == "high")
    assert high["path"] == "hooks/hooks.json" and high["line"] == 21


def test_the_pending_list_shows_them_over_the_api(held, api):
    collection, _, change = held
    body = api.get(f"/api/v1/collections/{collection.pk}/updates").json()
    assert body["count"] == 4
    assert {r["name"]: r["upstream_sha"] for r in body["results"]} == {
        "formatter": change,
        "github-tools": change,
        "release-notes": change,
        "test-writer": change,
    }
    skill = next(r for r in body["results"] if r["name"] == "release-notes")
    assert codes(skill["findings"]) == EXPECTED["release-notes"]


def test_metadata_still_applies_while_content_waits(kit, user, django_capture_on_commit_callbacks):
    kit.create()
    collection = kit.collection(user, auto_refresh_mode=Mode.SYNC, refresh_on_push=True)
    sync(collection)
    collection.review_updates = True
    collection.save()
    agent = fixture("agent", "after").replace(
        "Writes unit tests for the code you point it at.", "Writes focused unit tests."
    )
    kit.commit({"agents/test-writer.md": agent}, "Describe the agent better")
    run = kit.upstream_run(collection, django_capture_on_commit_callbacks)
    stored = artifact(collection, "test-writer")
    entry = RefreshEntry.objects.get(run=run, artifact=stored)
    assert entry.changes["description"]["applied"] is True
    assert stored.description == "Writes focused unit tests."
    assert stored.content == fixture("agent", "before")


def test_approve_takes_the_reviewed_commit_even_after_upstream_moved_on(held, kit, api):
    collection, _, change = held
    skill = artifact(collection, "release-notes")
    newer = fixture("skill", "after") + "\nA third version nobody reviewed.\n"
    later = kit.commit({"skills/release-notes/SKILL.md": newer}, "A version nobody reviewed")
    response = api.post(
        f"/api/v1/collections/{collection.pk}/updates/approve",
        {"artifact_ids": [str(skill.pk)]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mode"] == "sync" and body["trigger"] == "api"
    (entry,) = body["entries"]
    assert entry["status"] == "refreshed" and entry["applied"] is True
    assert entry["upstream_sha"] == change != later
    assert codes(entry["details"]["findings"]) == EXPECTED["release-notes"]
    skill.refresh_from_db()
    assert skill.resolved_sha == change
    assert skill.content == fixture("skill", "after")
    assert not PendingUpdate.objects.filter(artifact=skill).exists()
    # The other three still wait.
    assert PendingUpdate.objects.filter(collection=collection, state="pending").count() == 3
