"""Notifications of scheduled and push runs to a loopback receiver: body, signature, retries."""

import hashlib
import hmac
import json
import socket
from datetime import timedelta

import pytest
from django.tasks import task_backends
from django.utils import timezone
from werkzeug import Response

from collections_app.refresh_serializers import RefreshRunListSerializer
from refresher.models import DeliveryStatus, Mode, NotificationDelivery, RefreshRun, Trigger
from refresher.options import RefreshOptions
from refresher.runs import start_run
from refresher.service import refresh_run
from refresher.triggers.notify import deliver_notification
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import add_skills_repo

pytestmark = pytest.mark.django_db

SECRET = "notify-secret-for-tests"


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.NOTIFY_ALLOW_PRIVATE = True
    settings.NOTIFY_TIMEOUT = 2.0
    settings.NOTIFY_RETRY_BACKOFF = 0.0


@pytest.fixture
def collection(user, github, httpserver):
    add_skills_repo(github)
    collection = CollectionFactory(
        owner=user,
        name="Team skills",
        auto_refresh_mode=Mode.METADATA_ONLY,
        notify_url=httpserver.url_for("/hooks/skillmeat"),
        notify_secret=SECRET,
    )
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    ArtifactFactory(collection=collection, name="changelog", source="acme/skills/skills/changelog")
    return collection


def run_in_worker(collection, *, trigger=Trigger.SCHEDULE, mode=None, settings, capture):
    """Queue a run as the scheduler or a push would and execute it as the worker does."""
    settings.REFRESH_TASK_BACKEND = "default"  # the immediate backend runs queued tasks at once
    run = start_run(
        collection=collection,
        options=RefreshOptions(mode=mode or collection.auto_refresh_mode, background=True),
        user=None,
        queued=True,
        trigger=trigger,
    )
    with capture(execute=True):
        refresh_run.call(str(run.pk))
    run.refresh_from_db()
    return run


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Run one delivery task as the worker does, with the retries it queues on commit."""

    def send(delivery) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            deliver_notification.call(str(delivery.pk))
        delivery.refresh_from_db()

    return send


def received(httpserver):
    return [request for request, _ in httpserver.log]


def test_a_scheduled_run_that_changes_artifacts_posts_a_signed_notification(
    collection, httpserver, settings, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks/skillmeat", method="POST").respond_with_data("ok")
    run = run_in_worker(collection, settings=settings, capture=django_capture_on_commit_callbacks)

    [request] = received(httpserver)
    body = request.get_data()
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert request.headers["X-SkillMeat-Signature-256"] == expected
    assert request.headers["Content-Type"] == "application/json"
    delivery = NotificationDelivery.objects.get()
    assert request.headers["X-SkillMeat-Delivery"] == str(delivery.pk)

    data = json.loads(body)
    assert data["event"] == "refresh.finished"
    assert data["collection"] == {"id": str(collection.pk), "name": "Team skills"}
    assert "\n" not in data["text"]
    assert "Team skills" in data["text"] and "2 artifacts changed" in data["text"]
    assert data["run"]["run_id"] == str(run.pk)
    assert data["run"]["trigger"] == "schedule"
    # The run is the API's RefreshResponse without entries.
    assert set(data["run"]) == set(RefreshRunListSerializer(run).data)
    assert data["run"]["summary"] == dict(RefreshRunListSerializer(run).data["summary"])
    assert {c["artifact"] for c in data["changes"]} == {"skill:pdf", "skill:changelog"}
    pdf = next(c for c in data["changes"] if c["artifact"] == "skill:pdf")
    assert "description" in pdf["fields"]

    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.response_status == 200
    assert [a["status"] for a in delivery.attempts] == [200]


def test_without_a_secret_no_signature_header_is_sent(
    collection, httpserver, settings, django_capture_on_commit_callbacks
):
    collection.notify_secret = ""
    collection.save()
    httpserver.expect_request("/hooks/skillmeat").respond_with_data("ok")
    run_in_worker(collection, settings=settings, capture=django_capture_on_commit_callbacks)
    [request] = received(httpserver)
    assert "X-SkillMeat-Signature-256" not in request.headers
    assert request.headers["X-SkillMeat-Delivery"]


def test_a_push_check_that_finds_updates_notifies(
    collection, httpserver, settings, github, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks/skillmeat").respond_with_data("ok")
    # A sync records content SHAs; then upstream moves and a check finds the update.
    run_in_worker(
        collection,
        mode=Mode.SYNC,
        trigger=Trigger.API,
        settings=settings,
        capture=django_capture_on_commit_callbacks,
    )
    assert received(httpserver) == []  # a run someone asked for notifies nobody
    github.commit("acme/skills", files={"skills/pdf/SKILL.md": "---\ndescription: New.\n---\n"})
    run = run_in_worker(
        collection,
        mode=Mode.CHECK_ONLY,
        trigger=Trigger.PUSH,
        settings=settings,
        capture=django_capture_on_commit_callbacks,
    )
    assert run.updates_available == 1
    [request] = received(httpserver)
    data = request.get_json()
    assert "1 update available" in data["text"]
    assert next(c for c in data["changes"] if c["update_available"])["artifact"] == "skill:pdf"


def test_a_run_that_found_nothing_notifies_nobody(
    collection, httpserver, settings, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks/skillmeat").respond_with_data("ok")
    run_in_worker(collection, settings=settings, capture=django_capture_on_commit_callbacks)
    httpserver.clear_log()
    again = run_in_worker(collection, settings=settings, capture=django_capture_on_commit_callbacks)
    assert again.refreshed == 0 and again.updates_available == 0
    assert received(httpserver) == []
    assert NotificationDelivery.objects.count() == 1


# Retries ---------------------------------------------------------------------------------------


@pytest.fixture
def delivery(collection):
    run = RefreshRun.objects.create(
        collection=collection,
        trigger=Trigger.SCHEDULE,
        status="completed",
        updates_available=1,
        finished_at=timezone.now(),
    )
    return NotificationDelivery.objects.create(
        run=run, collection=collection, url=collection.notify_url, body='{"event":"x"}'
    )


def test_5xx_answers_are_retried_with_growing_delays_as_deferred_tasks(
    send, delivery, httpserver, settings
):
    settings.REFRESH_TASK_BACKEND = "dummy"  # keeps the queued retries for us to look at
    settings.NOTIFY_RETRY_BACKOFF = 30.0
    queue = task_backends["dummy"]
    queue.results.clear()
    for status in (500, 502, 503):
        httpserver.expect_ordered_request("/hooks/skillmeat").respond_with_data("no", status)
    httpserver.expect_ordered_request("/hooks/skillmeat").respond_with_data("ok", 200)

    delays = []
    for _ in range(4):
        before = timezone.now()
        send(delivery)
        if delivery.status == DeliveryStatus.PENDING:
            queued = queue.results[-1]
            assert queued.task.name == deliver_notification.name
            assert queued.args == [str(delivery.pk)]
            delays.append(round((queued.task.run_after - before).total_seconds()))
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [a["status"] for a in delivery.attempts] == [500, 502, 503, 200]
    # 30 s, then four times longer each time.
    assert [d // 10 * 10 for d in delays] == [30, 120, 480]
    assert len(received(httpserver)) == 4
    # Every attempt sent the same delivery id.
    assert {r.headers["X-SkillMeat-Delivery"] for r in received(httpserver)} == {str(delivery.pk)}


def test_a_receiver_that_keeps_failing_gets_five_attempts(send, delivery, httpserver, settings):
    settings.REFRESH_TASK_BACKEND = "default"  # retries run at once (the immediate backend)
    httpserver.expect_request("/hooks/skillmeat").respond_with_data("down", 503)
    send(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert len(delivery.attempts) == 5
    assert len(received(httpserver)) == 5
    assert delivery.finished_at is not None


def test_network_errors_are_retried(send, delivery, settings):
    settings.REFRESH_TASK_BACKEND = "default"
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    NotificationDelivery.objects.filter(pk=delivery.pk).update(url=f"http://127.0.0.1:{port}/x")
    send(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert len(delivery.attempts) == 5
    assert all("ConnectError" in a["error"] for a in delivery.attempts)


def test_a_4xx_answer_is_not_retried(send, delivery, httpserver, settings):
    settings.REFRESH_TASK_BACKEND = "default"
    httpserver.expect_request("/hooks/skillmeat").respond_with_data("gone", 410)
    send(delivery)
    assert (delivery.status, len(delivery.attempts)) == (DeliveryStatus.FAILED, 1)


def test_redirects_are_not_followed(send, delivery, httpserver, settings):
    settings.REFRESH_TASK_BACKEND = "default"
    httpserver.expect_request("/hooks/skillmeat").respond_with_response(
        Response(status=307, headers={"Location": httpserver.url_for("/elsewhere")})
    )
    httpserver.expect_request("/elsewhere").respond_with_data("ok")
    send(delivery)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.response_status == 307
    assert [r.path for r in received(httpserver)] == ["/hooks/skillmeat"]


def test_the_address_is_checked_again_at_delivery(send, delivery, httpserver, settings):
    settings.REFRESH_TASK_BACKEND = "default"
    settings.NOTIFY_ALLOW_PRIVATE = False  # the URL was allowed when written, not any more
    httpserver.expect_request("/hooks/skillmeat").respond_with_data("ok")
    send(delivery)
    assert delivery.status == DeliveryStatus.REFUSED
    assert "refused" in delivery.attempts[0]["error"]
    assert received(httpserver) == []


def test_deliveries_are_listed_in_the_admin(delivery, admin_client):
    delivery.attempts = [{"at": "2026-12-01T10:00:00Z", "attempt": 1, "status": 503}]
    delivery.save()
    page = admin_client.get("/admin/refresher/notificationdelivery/")
    assert page.status_code == 200
    assert str(delivery.collection) in page.content.decode()
    detail = admin_client.get(f"/admin/refresher/notificationdelivery/{delivery.pk}/change/")
    assert detail.status_code == 200
    assert "503" in detail.content.decode()


def test_a_delivery_that_was_done_is_not_sent_again(send, delivery, httpserver, settings):
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DELIVERED, finished_at=timezone.now() - timedelta(minutes=1)
    )
    send(delivery)
    assert received(httpserver) == []
