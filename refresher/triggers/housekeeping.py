"""The task worker's own upkeep: its heartbeat, and pruning the HTTP cache.

Both are periodic jobs (`refresher.triggers.periodic`), registered when the app loads and run by
every
`manage.py db_worker`. Both are safe when several workers run them at once: each worker writes
only its own heartbeat row, and pruning is a plain DELETE of rows past their age (checked in the
DELETE itself, so an entry a refresh uses meanwhile is kept).
"""

import logging
import os
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from refresher.models import HttpCacheEntry, WorkerHeartbeat
from refresher.triggers.periodic import periodic

logger = logging.getLogger("refresher.housekeeping")

# A heartbeat row nobody has written for this long belongs to a worker that is gone for good.
FORGET_WORKERS_AFTER = timedelta(days=7)
# Rows deleted per statement when pruning, so one prune never holds a huge delete open.
PRUNE_BATCH = 2000
PRUNE_EVERY_SECONDS = 3600


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


_started_at = timezone.now()


def beat(*, now: datetime | None = None) -> None:
    """Record that this worker process is alive (one upsert), and forget long-gone workers."""
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker=worker_name(),
        defaults={"seen_at": now},
        create_defaults={"seen_at": now, "started_at": _started_at},
    )
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_WORKERS_AFTER).delete()


def prune_http_cache(*, now: datetime | None = None, max_age_days: int | None = None) -> int:
    """Delete cached GitHub answers no refresh has used for `max_age_days`; their number."""
    now = now or timezone.now()
    days = settings.HTTP_CACHE_MAX_AGE_DAYS if max_age_days is None else max_age_days
    stale = HttpCacheEntry.objects.filter(used_at__lt=now - timedelta(days=days))
    deleted = 0
    while True:
        batch = list(stale.values_list("pk", flat=True)[:PRUNE_BATCH])
        if not batch:
            break
        # The age is checked again in the DELETE itself: a refresh in another process may have
        # used an entry since the batch was picked.
        count, _ = stale.filter(pk__in=batch).delete()
        deleted += count
    if deleted:
        logger.info("pruned %d HTTP cache entries unused for %d days", deleted, days)
    return deleted


@periodic("worker-heartbeat", every=settings.WORKER_HEARTBEAT_SECONDS)
def _heartbeat_job() -> None:
    beat()


@periodic("prune-http-cache", every=PRUNE_EVERY_SECONDS)
def _prune_job() -> None:
    prune_http_cache()
