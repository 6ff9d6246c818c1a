"""The persistent HTTP cache in front of GitHub, read and written in bulk.

The engine prefetches the keys a wave of requests will need in one query, the worker threads only
touch the in-memory copy (no database access from threads), and new answers are written back in
one upsert at the end of the network phase.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.db import DatabaseError, transaction
from django.utils import timezone

from refresher.models import HttpCacheEntry

logger = logging.getLogger("refresher.httpcache")

# An entry's `used_at` is moved forward only when it is older than this, so a warm refresh that
# loads the same entries again writes nothing; pruning works in days, so a day's slack is free.
TOUCH_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer: its JSON body (read through the shape its key stands for) and validators."""

    body: object
    etag: str = ""
    last_modified: str = ""
    immutable: bool = False


def cache_key(path: str, params: dict[str, str] | None = None) -> str:
    return f"{path}?{urlencode(sorted(params.items()))}" if params else path


class HttpCache:
    def __init__(self) -> None:
        self._entries: dict[str, CachedAnswer] = {}
        self._loaded: set[str] = set()
        self._dirty: dict[str, CachedAnswer] = {}
        self._touch: set[str] = set()  # loaded keys whose used_at is due to move forward

    def prefetch(self, keys: set[str]) -> None:
        """Load the stored answers for `keys` that are not in memory yet (one query)."""
        missing = keys - self._loaded
        if not missing:
            return
        rows = HttpCacheEntry.objects.filter(key__in=missing).values_list(
            "key", "body", "etag", "last_modified", "immutable", "used_at"
        )
        touch_before = timezone.now() - TOUCH_AFTER
        for key, body, etag, last_modified, immutable, used_at in rows:
            self._entries[key] = CachedAnswer(body, etag, last_modified, immutable)
            if used_at < touch_before:
                self._touch.add(key)
        self._loaded |= missing

    def get(self, key: str) -> CachedAnswer | None:
        return self._entries.get(key)

    def put(self, key: str, answer: CachedAnswer) -> None:
        # Called from worker threads; dict assignment is atomic under the GIL.
        self._entries[key] = answer
        self._dirty[key] = answer

    def discard(self, key: str) -> None:
        """Forget an answer this run must not keep or share (one it was not allowed to read)."""
        self._entries.pop(key, None)
        self._dirty.pop(key, None)
        self._touch.discard(key)

    def flush(self) -> int:
        """Write new and revalidated answers back (one upsert per batch), and mark the entries
        this run used (one update, when any is due); returns the number of answers written."""
        now = timezone.now()
        # Rows go in key order: two runs upserting overlapping keys then lock them in the same
        # order and cannot deadlock each other.
        rows = [
            HttpCacheEntry(
                key=key,
                body=answer.body,
                etag=answer.etag,
                last_modified=answer.last_modified,
                immutable=answer.immutable,
                fetched_at=now,
                used_at=now,
            )
            for key, answer in sorted(self._dirty.items())
        ]
        touch = sorted(self._touch - self._dirty.keys())
        if not rows and not touch:
            return 0
        try:
            with transaction.atomic():
                if rows:
                    HttpCacheEntry.objects.bulk_create(
                        rows,
                        batch_size=500,
                        update_conflicts=True,
                        unique_fields=["key"],
                        update_fields=[
                            "body",
                            "etag",
                            "last_modified",
                            "immutable",
                            "fetched_at",
                            "used_at",
                        ],
                    )
                if touch:
                    HttpCacheEntry.objects.filter(key__in=touch).update(used_at=now)
        except DatabaseError:
            # The cache only saves requests; a run must not fail because it could not be saved.
            logger.warning("could not save %d cached GitHub answers", len(rows), exc_info=True)
            return 0
        self._dirty.clear()
        self._touch.clear()
        return len(rows)
