"""Where upstream is read from: one provider per kind of source, behind one interface.

The engine is given a list of providers (`refresher.factory` builds them from settings) and hands
each the targets whose source kind it serves; it gets back one `UpstreamRead` per target and never
learns whether GitHub's REST API, its GraphQL API or a git command line answered. What a provider
knows of its quota reaches the engine only in the neutral records below: `Unavailable` (why no
request may go out now) and `RateLimitSnapshot` (what the run's record shows).
"""

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypedDict

from refresher.sources import SourceKind
from refresher.upstream.access import Access
from refresher.upstream.browse import Browser
from refresher.upstream.httpcache import HttpCache
from refresher.upstream.inspect import History, HistoryAsk, Inspect, Inspection
from refresher.upstream.reads import Target, UpstreamRead


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What one run gives every reader: its HTTP cache, parallelism, deadline and progress, and
    what it may read private sources with (its collection's credentials)."""

    cache: HttpCache
    concurrency: int
    deadline: float | None = None  # time.monotonic() value, or None for no deadline
    on_progress: Callable[[int], None] | None = None
    access: Access = field(default_factory=Access)


def seconds_until(moment: datetime) -> int:
    """Whole seconds until `moment`, at least 1: what a `Retry-After` header says."""
    return max(1, math.ceil((moment - datetime.now(UTC)).total_seconds()))


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Why a provider must not be asked anything now, and until when."""

    message: str  # for people: whose limit, until when
    until: datetime

    def retry_after(self) -> int:
        return seconds_until(self.until)


class RateLimitJSON(TypedDict):
    """A rate-limit snapshot as run records and API answers show it."""

    limit: int
    remaining: int
    reset_at: str  # UTC, ISO 8601 with Z, to the second
    resource: str


@dataclass(frozen=True, slots=True)
class RateLimitSnapshot:
    """A provider's last known quota: how many requests remain until the window resets."""

    limit: int
    remaining: int
    reset_at: datetime
    resource: str

    def as_json(self) -> RateLimitJSON:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset_at": self.reset_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resource": self.resource,
        }

    def retry_after(self) -> int | None:
        """Seconds until the window resets when nothing remains in it; None while some do."""
        return None if self.remaining > 0 else seconds_until(self.reset_at)


class Provider(Protocol):
    """Reads (and browses) the sources of some kinds.

    `read` answers every target it is given, read or not (an error or a skip says why), reading
    each as the credential of the context's `access` that SPEC 16 picks for it. `unavailable` is
    asked before a run with that access sends anything: a provider whose shared quota is paused
    or spent answers why, and the run ends at once without a request. `retry_after` and
    `rate_limit` describe the quota as the provider last saw it (None for providers without
    one). `used_credentials` are the ids of the credentials it has read with.
    """

    @property
    def kinds(self) -> frozenset[SourceKind]: ...

    def read(
        self, targets: Sequence[Target], context: ReadContext
    ) -> dict[uuid.UUID, UpstreamRead]: ...

    def unavailable(self, access: Access) -> Unavailable | None: ...

    @property
    def used_credentials(self) -> set[uuid.UUID]: ...

    def retry_after(self) -> int | None: ...

    @property
    def rate_limit(self) -> RateLimitSnapshot | None: ...

    def browser(self, context: ReadContext) -> Browser: ...

    def inspect(self, asks: Sequence[Inspect], context: ReadContext) -> dict[uuid.UUID, Inspection]:
        """Files at two commits and committer dates, for artifacts whose content changed."""
        ...

    def history(self, asks: Sequence[HistoryAsk], context: ReadContext) -> dict[uuid.UUID, History]:
        """The commits between two that touched each artifact's path (at most 20, newest first)."""
        ...

    def close(self) -> None: ...
