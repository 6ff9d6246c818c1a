"""`GET /healthz`: is the site up, and can its background work make progress?

Only the database decides the status code (503 when it does not answer): a load balancer should
take a web process out of rotation for that, not because the worker or GitHub is in trouble. The
rest is for operators and monitoring: how long ago a task worker was last seen, how long the
oldest queued run has waited, and GitHub's state as every process shares it (token set or
missing, the last known remaining quota per resource, a secondary-limit pause), for the site's
token and for each other account runs read with (users' tokens, App installations, named by
fingerprint only). Three small queries answer it all.
"""

from collections.abc import Mapping
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Max, Min
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from refresher.models import RefreshRun, RunStatus, WorkerHeartbeat
from refresher.upstream.github.quota import quota_status


def _seconds_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))


def github_state(*, shared: bool = True) -> Mapping[str, object]:
    """What the site knows about GitHub without asking it.

    The token is only said to be set or missing; the quota is the state every process shares
    (`refresher.upstream.github.quota`), or nothing known when the database cannot be read.
    """
    if shared:
        return quota_status()
    return {
        "token": "set" if settings.GITHUB_TOKEN else "missing",
        "api_url": settings.GITHUB_API_URL,
        "resources": {},
        "paused_until": None,
        "accounts": [],
    }


def healthz(request: HttpRequest) -> JsonResponse:
    """Database, worker, queue and GitHub state; 503 only when the database does not answer."""
    now = timezone.now()
    try:
        last_seen = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
        oldest = RefreshRun.objects.filter(status=RunStatus.QUEUED).aggregate(
            oldest=Min("created_at")
        )["oldest"]
        github = github_state()
    except DatabaseError:
        body: dict[str, object] = {
            "status": "unavailable",
            "database": "unavailable",
            "worker": None,
            "queue": None,
            "github": github_state(shared=False),
        }
        return JsonResponse(body, status=503)
    body = {
        "status": "ok",
        "database": "ok",
        # Seconds since a task worker was last seen; null when none ever was.
        "worker": _seconds_since(last_seen, now),
        # Age in seconds of the oldest run waiting for a worker; null when none waits.
        "queue": _seconds_since(oldest, now),
        "github": github,
    }
    return JsonResponse(body)
