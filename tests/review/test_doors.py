"""Approving and rejecting through every door, and what notifications say (SPEC 17): the API's
answers and errors, the admin's Pending updates page, `manage.py review_updates`."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from refresher.models import Mode, NotificationDelivery, PendingUpdate, RefreshRun, Trigger
from tests.review_kit import artifact, fixture, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def kind() -> str:
    return "rest"  # the doors are the same whatever the upstream; the flows run all three


@pytest.fixture
def held(kit, user):
    """Four updates waiting for review, found by a scheduled sync."""
    kit.create()
    collection = kit.collection(user, auto_refresh_mode=Mode.SYNC)
    sync(collection)
    collection.review_updates = True
    collection.save()
    change = kit.change()
    sync(collection, trigger=Trigger.SCHEDULE)
    assert PendingUpdate.objects.filter(state="pending").count() == 4
    return collection, change


def approve_url(collection) -> str:
    return f"/api/v1/collections/{collection.pk}/updates/approve"


def test_approving_many_queues_a_background_run_like_a_large_refresh(
    held, api, settings, django_capture_on_commit_callbacks
):
    collection, change = held
    settings.REFRESH_SYNC_MAX_ARTIFACTS = 2
    settings.REFRESH_TASK_BACKEND = "dummy"  # keep it queued, to look at it
    response = api.post(approve_url(collection), {"all": True}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/refresh-runs/{body['run_id']}/"
    run = RefreshRun.objects.get(pk=body["run_id"])
    assert run.status == "queued" and run.mode == "sync" and run.background
    assert set(run.review_commits.values()) == {change}
    assert len(run.artifact_filter["ids"]) == 4


def test_approve_errors_are_in_the_one_error_shape(held, api, other_api):
    collection, _ = held
    mine = artifact(collection, "formatter")
    unknown = api.post(
        approve_url(collection), {"artifact_ids": [str(mine.collection_id)]}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json()["code"] == "invalid_request"
    assert other_api.post(approve_url(collection), {"all": True}, format="json").status_code == 404
    assert api.post(approve_url(collection), {"all": "yes"}, format="json").status_code == 400
    RefreshRun.objects.create(collection=collection, status="running")
    busy = api.post(approve_url(collection), {"all": True}, format="json")
    assert busy.status_code == 409 and busy.json()["code"] == "refresh_in_progress"
    assert PendingUpdate.objects.filter(state="pending").count() == 4


def test_approving_all_then_nothing_is_pending(held, api):
    collection, _ = held
    assert (
        api.post(
            approve_url(collection), {"all": True, "accept_findings": True}, format="json"
        ).status_code
        == 200
    )
    again = api.post(approve_url(collection), {"all": True}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "nothing_pending"
    assert artifact(collection, "release-notes").content == fixture("skill", "after")


def test_the_admin_approves_selected_updates_with_their_findings_accepted(held, admin_client):
    collection, change = held
    collection.block_findings = "high"
    collection.save()
    page = f"/admin/collections_app/collection/{collection.pk}/updates/"
    hook, agent = artifact(collection, "formatter"), artifact(collection, "test-writer")
    blocked = admin_client.post(
        page, {"review_action": "approve", "artifact": [str(hook.pk)]}, follow=True
    )
    assert "Approved:" in blocked.content.decode()
    held_back = RefreshRun.objects.filter(trigger="admin").latest("created_at")
    assert [e.reason for e in held_back.entries.all()] == ["blocked_by_findings"]
    hook.refresh_from_db()
    assert hook.resolved_sha != change
    done = admin_client.post(
        page,
        {
            "review_action": "approve",
            "artifact": [str(hook.pk), str(agent.pk)],
            "accept_findings": "1",
        },
        follow=True,
    )
    assert "Approved" in done.content.decode()
    hook.refresh_from_db()
    assert hook.resolved_sha == change
    remaining = set(PendingUpdate.objects.values_list("artifact__name", flat=True))
    assert remaining == {"github-tools", "release-notes"}
    # The run's page shows each entry's findings.
    run = RefreshRun.objects.filter(trigger="admin", skipped=0).latest("created_at")
    html = admin_client.get(f"/admin/refresher/refreshrun/{run.pk}/change/").content.decode()
    assert "hook_command" in html and "new_url_host" in html


def command(*args: str) -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("review_updates", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def test_the_command_lists_rejects_and_approves_with_exit_codes(held, user):
    collection, change = held
    ref = f"{user.username}/{collection.name}"
    listed, code = command(ref)
    assert code == 2 and "hook:formatter" in listed and "high" in listed
    as_json, code = command(str(collection.pk), "--json")
    assert code == 2 and {r["name"] for r in json.loads(as_json)} == {
        "formatter",
        "github-tools",
        "release-notes",
        "test-writer",
    }
    agent = artifact(collection, "test-writer")
    _, code = command(ref, "--reject", str(agent.pk))
    assert code == 0 and PendingUpdate.objects.get(artifact=agent).state == "rejected"
    _, code = command(ref, "--reject", str(agent.pk))
    assert code == 1  # nothing waits for it any more
    report, code = command(ref, "--approve", "--all", "--json")
    assert code == 0, report
    entries = json.loads(report)["entries"]
    assert {e["artifact"] for e in entries} == {
        "hook:formatter",
        "mcp:github-tools",
        "skill:release-notes",
    }
    assert artifact(collection, "formatter").resolved_sha == change
    listed, code = command(ref)
    assert code == 0 and "No updates" in listed
    _, code = command(ref, "--approve")
    assert code == 1  # neither ids nor --all
    _, code = command(ref, "--approve", "not-a-uuid")
    assert code == 1


def test_an_approval_held_back_by_findings_exits_1(held, user):
    collection, _ = held
    collection.block_findings = "high"
    collection.save()
    hook = artifact(collection, "formatter")
    report, code = command(str(collection.pk), "--approve", str(hook.pk))
    assert code == 1 and "blocked_by_findings" in report
    _, code = command(str(collection.pk), "--approve", str(hook.pk), "--accept-findings")
    assert code == 0


def test_notifications_of_push_runs_say_how_many_updates_wait(
    kit, user, httpserver, settings, django_capture_on_commit_callbacks
):
    settings.NOTIFY_ALLOW_PRIVATE = True
    httpserver.expect_request("/hook").respond_with_data("ok")
    kit.create()
    collection = kit.collection(
        user,
        auto_refresh_mode=Mode.SYNC,
        refresh_on_push=True,
        notify_url=httpserver.url_for("/hook"),
    )
    sync(collection)
    collection.review_updates = True
    collection.save()
    kit.change()
    kit.upstream_run(collection, django_capture_on_commit_callbacks)
    delivery = NotificationDelivery.objects.get()
    data = json.loads(delivery.body)
    assert data["pending_updates"] == 4
    assert "4 waiting for review" in data["text"]
    assert {c["artifact"] for c in data["changes"]} >= {"hook:formatter", "skill:release-notes"}
