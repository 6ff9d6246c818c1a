"""The worker's upkeep: its heartbeat, and pruning HTTP cache entries nobody uses."""

from datetime import timedelta

import pytest
from django.utils import timezone

from refresher.models import HttpCacheEntry, WorkerHeartbeat
from refresher.triggers import periodic
from refresher.triggers.housekeeping import (
    FORGET_WORKERS_AFTER,
    beat,
    prune_http_cache,
    worker_name,
)
from refresher.upstream.httpcache import TOUCH_AFTER
from tests.conftest import client_for
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import add_skills_repo

pytestmark = pytest.mark.django_db


def entry(key: str, *, used_days_ago: float) -> HttpCacheEntry:
    now = timezone.now()
    return HttpCacheEntry.objects.create(
        key=key,
        body={"k": key},
        fetched_at=now - timedelta(days=90),
        used_at=now - timedelta(days=used_days_ago),
    )


def test_the_worker_runs_the_heartbeat_and_the_pruning():
    names = {job.name for job in periodic.jobs()}
    assert {"worker-heartbeat", "prune-http-cache"} <= names


def test_pruning_deletes_only_entries_unused_for_the_configured_days(settings):
    settings.HTTP_CACHE_MAX_AGE_DAYS = 30
    entry("/repos/a/old", used_days_ago=31)
    entry("/repos/a/older", used_days_ago=400)
    entry("/repos/a/recent", used_days_ago=29)
    entry("/repos/a/today", used_days_ago=0)

    assert prune_http_cache() == 2

    assert set(HttpCacheEntry.objects.values_list("key", flat=True)) == {
        "/repos/a/recent",
        "/repos/a/today",
    }
    settings.HTTP_CACHE_MAX_AGE_DAYS = 7
    assert prune_http_cache() == 1
    assert prune_http_cache() == 0  # running it again (or in another worker) is harmless


def test_pruning_goes_in_batches_until_nothing_old_is_left(monkeypatch):
    from refresher.triggers import housekeeping

    monkeypatch.setattr(housekeeping, "PRUNE_BATCH", 3)
    for i in range(10):
        entry(f"/repos/a/{i}", used_days_ago=60)
    entry("/repos/a/kept", used_days_ago=1)

    assert prune_http_cache() == 10
    assert list(HttpCacheEntry.objects.values_list("key", flat=True)) == ["/repos/a/kept"]


def test_an_entry_a_refresh_uses_while_pruning_runs_is_kept(monkeypatch):
    # Pruning picks a batch of stale keys, then deletes them; a refresh in another process that
    # uses one of them in between has made it fresh again, and the delete must leave it alone.
    from refresher.triggers import housekeeping

    entry("/repos/a/old", used_days_ago=60)
    entry("/repos/a/used-now", used_days_ago=60)
    real_list = list

    def list_then_a_refresh_uses_one(rows):
        picked = real_list(rows)
        HttpCacheEntry.objects.filter(key="/repos/a/used-now").update(used_at=timezone.now())
        return picked

    monkeypatch.setattr(housekeeping, "list", list_then_a_refresh_uses_one, raising=False)

    assert prune_http_cache() == 1
    assert list(HttpCacheEntry.objects.values_list("key", flat=True)) == ["/repos/a/used-now"]


def test_a_refresh_marks_the_entries_it_used_so_pruning_keeps_them(github, user, settings):
    settings.HTTP_CACHE_MAX_AGE_DAYS = 30
    add_skills_repo(github)
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    api = client_for(user)
    assert api.post(f"/api/v1/collections/{collection.id}/refresh").status_code == 200
    used = set(HttpCacheEntry.objects.values_list("key", flat=True))
    assert used
    # Forty days pass: every entry looks unused, and one entry no refresh needs is added.
    HttpCacheEntry.objects.update(used_at=timezone.now() - timedelta(days=40))
    entry("/repos/gone/away", used_days_ago=40)

    assert api.post(f"/api/v1/collections/{collection.id}/refresh").status_code == 200

    assert prune_http_cache() == 1
    assert set(HttpCacheEntry.objects.values_list("key", flat=True)) == used


def test_a_warm_refresh_does_not_rewrite_entries_used_within_the_day(github, user):
    add_skills_repo(github)
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    api = client_for(user)
    api.post(f"/api/v1/collections/{collection.id}/refresh")
    recent = timezone.now() - TOUCH_AFTER / 2
    HttpCacheEntry.objects.update(used_at=recent)

    api.post(f"/api/v1/collections/{collection.id}/refresh")

    assert set(HttpCacheEntry.objects.values_list("used_at", flat=True)) == {recent}


def test_a_heartbeat_is_one_row_per_worker_moved_forward_each_beat():
    earlier = timezone.now() - timedelta(minutes=5)
    beat(now=earlier)
    beat()

    [row] = WorkerHeartbeat.objects.all()
    assert row.worker == worker_name()
    assert row.seen_at > earlier
    assert row.started_at <= row.seen_at


def test_a_heartbeat_forgets_workers_gone_for_long():
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker="gone:1", started_at=now, seen_at=now - FORGET_WORKERS_AFTER - timedelta(hours=1)
    )
    WorkerHeartbeat.objects.create(
        worker="quiet:2", started_at=now, seen_at=now - timedelta(days=1)
    )

    beat()

    assert set(WorkerHeartbeat.objects.values_list("worker", flat=True)) == {
        "quiet:2",
        worker_name(),
    }
