"""End to end in a real task worker: a due schedule runs, finds changes, and its notification
reaches a loopback receiver after two 503 answers, each retry a deferred task (`run_after`)."""

import os
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from collections_app.models import Collection
from refresher.models import DeliveryStatus, Mode, NotificationDelivery, RunStatus, Trigger
from tests.factories import ArtifactFactory, CollectionFactory
from tests.refresher.test_background import database_url
from tests.refresher.test_scheduler_workers import start_worker, wait_for
from tests.upstream import add_skills_repo

BACKOFF = 0.5


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_run_notifies_through_retries_in_a_real_worker(
    github, user, httpserver, tmp_path
):
    add_skills_repo(github)
    for status in (503, 503, 200):
        httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("", status)
    collection = CollectionFactory(
        owner=user,
        refresh_schedule="@daily",
        auto_refresh_mode=Mode.METADATA_ONLY,
        notify_url=httpserver.url_for("/hook"),
        notify_secret="s",
    )
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    Collection.objects.filter(pk=collection.pk).update(
        next_refresh_at=timezone.now() - timedelta(minutes=1)
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": github.token,
        "REFRESH_TASK_BACKEND": "database",
        "NOTIFY_ALLOW_PRIVATE": "true",
        "NOTIFY_RETRY_BACKOFF": str(BACKOFF),
    }
    log = tmp_path / "worker.log"
    worker = start_worker(env, log)
    try:
        wait_for(
            lambda: NotificationDelivery.objects.filter(
                status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]
            ).exists(),
            timeout=90,
            what="the notification to be delivered",
        )
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    delivery = NotificationDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED, log.read_text()[-3000:]
    assert delivery.run.trigger == Trigger.SCHEDULE
    assert delivery.run.status == RunStatus.COMPLETED
    assert [a["status"] for a in delivery.attempts] == [503, 503, 200]
    times = [datetime.fromisoformat(a["at"]) for a in delivery.attempts]
    # Each retry waited at least its backoff: 1x, then 4x.
    assert (times[1] - times[0]).total_seconds() >= BACKOFF
    assert (times[2] - times[1]).total_seconds() >= 4 * BACKOFF
    requests = [request for request, _ in httpserver.log]
    assert len(requests) == 3
    assert {r.headers["X-SkillMeat-Delivery"] for r in requests} == {str(delivery.pk)}
    assert len({r.get_data() for r in requests}) == 1  # the same body every time
