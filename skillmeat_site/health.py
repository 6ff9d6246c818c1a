from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

from refresher.quota import quota_status


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness with a database round trip: 200 when the database answers, 503 otherwise.

    `github` tells operators what the shared quota looks like (token set or missing, the last
    known remaining requests per resource, a secondary-limit pause); it never decides the status.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse(
            {"status": "unavailable", "database": "unreachable", "github": _github(known=False)},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": "ok", "github": _github(known=True)})


def _github(*, known: bool) -> dict[str, Any]:
    if known:
        try:
            return quota_status()
        except DatabaseError:
            pass
    return {
        "token": "set" if settings.GITHUB_TOKEN else "missing",
        "api_url": settings.GITHUB_API_URL,
        "resources": {},
        "paused_until": None,
    }
