"""Per-user request throttles whose counter holds under concurrency (SPEC 7, 18).

DRF's own throttles read a history from the cache, decide, then write it back: two requests
arriving together read the same history and both pass, so a burst of parallel requests went
through a `30/min` limit unchecked. Here each request adds itself to a fixed-window counter in
the database with one atomic statement and learns its own position in the window from it: the
first N of the window pass, every later one is refused until the window ends, whatever the
number of processes and threads.
"""

import time

from django.db import connection
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from collections_app.models import RequestCount

_TABLE = RequestCount._meta.db_table
# One statement: the row of this window is created at 1 or counted up, and its count returned.
# SQLite (3.35+) and PostgreSQL both spell the upsert and RETURNING this way.
_COUNT_UP = (
    f"INSERT INTO {_TABLE} (scope, client, window_start, hits) VALUES (%s, %s, %s, 1) "
    f"ON CONFLICT (scope, client, window_start) DO UPDATE SET hits = {_TABLE}.hits + 1 "
    "RETURNING hits"
)


def count_up(scope: str, client: str, window: int) -> int:
    """Add one request to the window's counter; the count including it."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_UP, [scope, client, window])
        row = cursor.fetchone()
    count = int(row[0])
    if count == 1:
        # The first request of a window clears the client's finished windows of this scope.
        RequestCount.objects.filter(scope=scope, client=client, window_start__lt=window).delete()
    return count


class AtomicUserRateThrottle(SimpleRateThrottle):
    """`N/period` requests per user (per address for anonymous ones) in fixed windows."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        user = request.user
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return f"addr:{self.get_ident(request)}"

    wait_seconds: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        allowed, duration = self.parse_rate(self.rate)
        client = self.get_cache_key(request, view)
        if allowed is None or duration is None or client is None or self.scope is None:
            return True
        now = time.time()
        window = int(now // duration) * duration
        self.wait_seconds = max(1.0, window + duration - now)
        return count_up(self.scope, client[:100], window) <= allowed

    def wait(self) -> float | None:
        return self.wait_seconds
