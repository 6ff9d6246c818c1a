"""POST /api/v1/webhooks/github: signatures, deliveries, events, bodies, runs (SPEC 13)."""

import json
import logging
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from refresher.models import Mode, RefreshRun, RunStatus, Trigger, WebhookDelivery
from refresher.service import refresh_run
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import add_skills_repo
from tests.webhooks.payloads import SECRET, commit, deliver, push, sign

pytestmark = pytest.mark.django_db

PDF_PUSH = push(commits=[commit(modified=["skills/pdf/SKILL.md"])])


@pytest.fixture(autouse=True)
def webhook_on(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    # Runs stay queued where the test can look at them (no worker in these tests).
    settings.REFRESH_TASK_BACKEND = "dummy"


@pytest.fixture
def collection(user):
    collection = CollectionFactory(
        owner=user, refresh_on_push=True, auto_refresh_mode=Mode.METADATA_ONLY
    )
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    ArtifactFactory(collection=collection, name="changelog", source="acme/skills/skills/changelog")
    return collection


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "details", "request_id"}


# Signatures ------------------------------------------------------------------------------------


def test_a_valid_signature_is_accepted_and_the_push_starts_a_run(collection):
    response = deliver(PDF_PUSH, delivery="d-1")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["delivery"] == "d-1"
    assert len(body["runs"]) == 1
    run = RefreshRun.objects.get(pk=body["runs"][0])
    assert run.trigger == Trigger.PUSH
    assert run.mode == Mode.METADATA_ONLY
    assert run.background and run.status == RunStatus.QUEUED
    pdf = collection.artifacts.get(name="pdf")
    assert run.artifact_filter == {"ids": [str(pdf.pk)]}


@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "",  # empty
        sign(json.dumps(PDF_PUSH).encode(), secret="another-secret"),  # wrong secret
        "sha256=" + "0" * 64,  # wrong digest
        "sha256=not-hex",
        # GitHub's legacy SHA-1 header value: another algorithm is refused.
        "sha1=" + "0" * 40,
        # The right digest under another algorithm's name.
        sign(json.dumps(PDF_PUSH).encode()).replace("sha256=", "sha512="),
        # The right digest without its prefix.
        sign(json.dumps(PDF_PUSH).encode()).removeprefix("sha256="),
    ],
    ids=["missing", "empty", "wrong-secret", "wrong-digest", "not-hex", "sha1", "sha512", "bare"],
)
def test_a_missing_or_wrong_signature_is_401_and_queues_nothing(collection, signature, caplog):
    caplog.set_level(logging.DEBUG)
    payload = push(commits=[commit(modified=["skills/pdf/SKILL.md"], message="marker-7f3a9c")])
    response = deliver(payload, signature=signature)
    assert_error(response, 401, "invalid_signature")
    assert not RefreshRun.objects.exists()
    assert not WebhookDelivery.objects.exists()
    # Nothing of the body reaches the logs.
    assert "marker-7f3a9c" not in caplog.text


def test_a_signature_of_another_body_is_refused(collection):
    other = json.dumps(push(commits=[commit(modified=["skills/changelog/SKILL.md"])])).encode()
    response = deliver(PDF_PUSH, signature=sign(other))
    assert_error(response, 401, "invalid_signature")
    assert not RefreshRun.objects.exists()


def test_the_webhook_is_off_without_a_secret(settings, collection):
    settings.GITHUB_WEBHOOK_SECRET = ""
    response = deliver(PDF_PUSH)
    assert_error(response, 404, "not_found")
    assert not RefreshRun.objects.exists()


def test_no_token_is_needed_and_other_methods_are_refused(collection, api):
    assert deliver(PDF_PUSH).status_code == 202
    assert_error(api.get("/api/v1/webhooks/github"), 405, "method_not_allowed")


# Deliveries and events -------------------------------------------------------------------------


def test_a_delivery_seen_before_answers_duplicate_and_queues_nothing(collection):
    first = deliver(PDF_PUSH, delivery="same-id")
    assert first.status_code == 202
    RefreshRun.objects.update(status=RunStatus.COMPLETED)  # the collection is free again
    again = deliver(PDF_PUSH, delivery="same-id")
    assert again.status_code == 200
    assert again.json() == {"delivery": "same-id", "duplicate": True}
    assert RefreshRun.objects.count() == 1


def test_a_refused_delivery_is_not_remembered(collection):
    assert deliver(PDF_PUSH, delivery="retry-me", signature="sha256=" + "0" * 64).status_code == 401
    # The same delivery redelivered with its signature is handled.
    assert deliver(PDF_PUSH, delivery="retry-me").status_code == 202


def test_ping_answers_200(collection):
    ping = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {"type": "Repository"}}
    response = deliver(ping, event="ping", delivery="p-1")
    assert response.status_code == 200
    assert response.json() == {"delivery": "p-1", "pong": True}
    assert not RefreshRun.objects.exists()


@pytest.mark.parametrize("event", ["issues", "pull_request", "release", "star"])
def test_other_events_are_ignored(collection, event):
    response = deliver({"action": "opened", "repository": PDF_PUSH["repository"]}, event=event)
    assert response.status_code == 200
    assert response.json()["ignored"] == event
    assert not RefreshRun.objects.exists()


# Bodies ----------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_400(collection):
    raw = b"payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D"  # a form-encoded webhook
    response = deliver(None, raw=raw, signature=sign(raw))
    assert_error(response, 400, "invalid_request")
    assert "application/json" in response.json()["message"]


@pytest.mark.parametrize("payload", [[1, 2], {"ref": "refs/heads/main", "commits": []}])
def test_a_push_without_a_repository_is_400(collection, payload):
    response = deliver(payload)
    assert_error(response, 400, "invalid_request")
    assert not RefreshRun.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_a_body_over_5_mib_is_413(collection):
    raw = b'{"padding": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = deliver(None, raw=raw, signature=sign(raw))
    assert_error(response, 413, "payload_too_large")
    assert not RefreshRun.objects.exists()


def test_a_large_push_under_the_limit_is_accepted(collection):
    # Over Django's 2.5 MB in-memory default, under our 5 MiB cap (the commit is listed twice:
    # in `commits` and as `head_commit`).
    payload = push(commits=[commit(modified=["skills/pdf/SKILL.md"], message="m" * 2_000_000)])
    assert deliver(payload).status_code == 202


def test_a_push_touching_nothing_answers_202_with_no_runs(collection):
    response = deliver(push(commits=[commit(modified=["README.md"])]))
    assert response.status_code == 202
    assert response.json()["runs"] == []
    assert not RefreshRun.objects.exists()


# Runs ------------------------------------------------------------------------------------------


def test_one_run_per_collection_with_only_its_touched_artifacts(collection, other_user):
    second = CollectionFactory(owner=other_user, refresh_on_push=True)
    changelog = ArtifactFactory(
        collection=second, name="changelog", source="acme/skills/skills/changelog"
    )
    ArtifactFactory(collection=second, name="pdf", source="acme/skills/skills/pdf@" + "c" * 40)
    payload = push(
        commits=[commit(modified=["skills/pdf/SKILL.md"]), commit(added=["skills/changelog/x"])]
    )
    body = deliver(payload).json()
    runs = RefreshRun.objects.filter(pk__in=body["runs"])
    by_collection = {run.collection_id: run for run in runs}
    assert set(by_collection) == {collection.pk, second.pk}
    assert by_collection[second.pk].artifact_filter == {"ids": [str(changelog.pk)]}
    assert by_collection[second.pk].mode == Mode.CHECK_ONLY  # the default auto_refresh_mode
    assert len(by_collection[collection.pk].artifact_filter["ids"]) == 2


def test_a_push_finding_the_collection_busy_runs_right_after_the_active_run(
    collection, user, github, settings, django_capture_on_commit_callbacks
):
    add_skills_repo(github)
    active = RefreshRun.objects.create(
        collection=collection,
        status=RunStatus.QUEUED,
        background=True,
        mode=Mode.CHECK_ONLY,
        heartbeat_at=timezone.now(),
    )
    response = deliver(PDF_PUSH)
    assert response.status_code == 202
    assert response.json()["runs"] == []
    assert response.json()["deferred"] == [str(collection.pk)]
    pdf = collection.artifacts.get(name="pdf")
    collection.refresh_from_db()
    assert collection.pending_push_ids == [str(pdf.pk)]

    # The active run is executed by a worker; its end starts the waiting push's run.
    settings.REFRESH_TASK_BACKEND = "default"  # the immediate backend: queued tasks run at once
    with django_capture_on_commit_callbacks(execute=True):
        refresh_run.call(str(active.pk))
    active.refresh_from_db()
    assert active.status == RunStatus.COMPLETED
    follow_up = RefreshRun.objects.exclude(pk=active.pk).get()
    assert follow_up.trigger == Trigger.PUSH
    assert follow_up.artifact_filter == {"ids": [str(pdf.pk)]}
    assert follow_up.status == RunStatus.COMPLETED
    assert [e.artifact_key for e in follow_up.entries.all()] == ["skill:pdf"]
    collection.refresh_from_db()
    assert collection.pending_push_ids == []


def test_a_push_run_refreshes_only_the_pushed_artifacts(
    collection, github, settings, django_capture_on_commit_callbacks
):
    add_skills_repo(github)
    settings.REFRESH_TASK_BACKEND = "default"
    requests_before = len(github.requests)
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(PDF_PUSH)
    assert response.status_code == 202
    run = RefreshRun.objects.get(pk=response.json()["runs"][0])
    assert run.status == RunStatus.COMPLETED
    assert [e.artifact_key for e in run.entries.all()] == ["skill:pdf"]
    assert collection.artifacts.get(name="pdf").description  # metadata_only applied it
    assert len(github.requests) > requests_before


def test_the_answer_reads_nothing_from_github(collection, github):
    response = deliver(push(commits=None))
    assert response.status_code == 202
    assert len(response.json()["runs"]) == 1
    assert github.requests == []


@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_arriving_twice_at_once_starts_one_run(collection):
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def post() -> None:
        barrier.wait()
        try:
            statuses.append(deliver(PDF_PUSH, delivery="racing-delivery").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 200, 200, 202]
    assert RefreshRun.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_push_left_waiting_runs_after_the_next_inline_refresh(
    collection, github, api, settings, django_capture_on_commit_callbacks
):
    """A push whose run's end was missed (its worker died) starts when an inline refresh ends."""
    add_skills_repo(github)
    lost = RefreshRun.objects.create(
        collection=collection,
        status=RunStatus.RUNNING,
        background=True,
        mode=Mode.CHECK_ONLY,
        heartbeat_at=timezone.now(),
    )
    assert deliver(PDF_PUSH).json()["deferred"] == [str(collection.pk)]
    pdf = collection.artifacts.get(name="pdf")
    # The worker carrying the active run stops beating: the next run fails it as lost.
    stale = timezone.now() - timedelta(seconds=settings.REFRESH_RUN_LEASE_SECONDS + 1)
    RefreshRun.objects.filter(pk=lost.pk).update(heartbeat_at=stale)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/collections/{collection.pk}/refresh", format="json")

    assert response.status_code == 200, response.content
    inline = RefreshRun.objects.get(pk=response.json()["run_id"])
    assert (inline.trigger, inline.status) == (Trigger.API, RunStatus.COMPLETED)
    follow_up = RefreshRun.objects.exclude(pk__in=[lost.pk, inline.pk]).get()
    assert follow_up.trigger == Trigger.PUSH
    assert follow_up.artifact_filter == {"ids": [str(pdf.pk)]}
    assert follow_up.status == RunStatus.QUEUED  # handed to the (dummy) task backend
    collection.refresh_from_db()
    assert collection.pending_push_ids == []
