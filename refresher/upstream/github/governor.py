"""The quota governor: one view of a GitHub token's rate limits shared by every request of a run.

GitHub counts a token's requests per resource (``core`` for REST, ``graphql`` for GraphQL, ...)
and punishes bursts with secondary limits that say how long to stay away (``Retry-After``, or
"at least a minute" when they do not say). :class:`QuotaGovernor` remembers both for one client:
before each request the client asks it whether the request may go (:meth:`QuotaGovernor.blocked`),
and after each answer it tells it what GitHub said. All of that is in memory and thread-safe, so
the worker threads of a run never touch the database.

Several processes share one token, so the governor is also a window on shared state: with a
:class:`QuotaStore` (the database-backed one is ``quota.DatabaseQuotaStore`` beside this module),
:meth:`QuotaGovernor.sync`, called from the thread that owns the database connection (the
engine's, between waves of reads), writes what changed and reads what the other processes met.

This module is plain Python: the client imports it, and it imports neither Django nor models.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

logger = logging.getLogger("refresher.governor")

# GitHub asks clients hit by a secondary limit without Retry-After to wait at least a minute;
# while such limits repeat without a success in between, each wait doubles, up to an hour. No
# pause, whatever Retry-After says, is longer than that hour.
SECONDARY_MIN_PAUSE = 60.0
SECONDARY_MAX_PAUSE = 3600.0


@dataclass(frozen=True)
class ResourceQuota:
    """The last known primary limit of one resource, from the ``x-ratelimit-*`` headers."""

    limit: int
    remaining: int
    reset_at: datetime

    def exhausted(self, now: datetime) -> bool:
        return self.remaining <= 0 and self.reset_at > now

    def newer_than(self, other: ResourceQuota | None) -> bool:
        """Whether this snapshot should replace ``other``: a later window, or less left in it.

        Within one window the quota only goes down, so answers arriving out of order (from
        parallel requests, or from several processes) never raise what is known to remain.
        """
        if other is None:
            return True
        if self.reset_at != other.reset_at:
            return self.reset_at > other.reset_at
        return self.remaining < other.remaining


@dataclass(frozen=True)
class QuotaState:
    """Everything shared about one token: primary limits per resource and a secondary pause."""

    resources: dict[str, ResourceQuota] = field(default_factory=dict)
    paused_until: datetime | None = None
    # The length of the last secondary pause and how many came in a row without a success:
    # the next pause without Retry-After doubles the last one while strikes > 0.
    pause_seconds: float = 0.0
    strikes: int = 0

    def merged(self, other: QuotaState) -> QuotaState:
        """The union of what two views know: the newer snapshot per resource, the later pause."""
        resources = dict(self.resources)
        for name, quota in other.resources.items():
            if quota.newer_than(resources.get(name)):
                resources[name] = quota
        paused_until, pause_seconds, strikes = self.paused_until, self.pause_seconds, self.strikes
        if other.paused_until is not None and (
            paused_until is None or other.paused_until > paused_until
        ):
            paused_until, pause_seconds = other.paused_until, other.pause_seconds
        strikes = max(strikes, other.strikes)
        return QuotaState(resources, paused_until, pause_seconds, strikes)


@dataclass(frozen=True)
class Block:
    """Why no request may be sent now, and until when."""

    reason: str  # "paused" (a secondary limit) or "exhausted" (a primary limit)
    resource: str  # the exhausted resource, or "" for a pause
    until: datetime

    def seconds_left(self, now: datetime | None = None) -> float:
        return max(0.0, (self.until - (now or datetime.now(UTC))).total_seconds())

    def describe(self) -> str:
        when = self.until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.reason == "paused":
            return f"GitHub's secondary rate limit asked to pause all requests until {when}"
        return f"GitHub's {self.resource} rate limit is exhausted until {when}"


class QuotaStore(Protocol):
    """Where the state shared by every process lives (a database table in production)."""

    def load(self) -> QuotaState:
        """The shared state as last written by any process."""
        ...

    def save(self, state: QuotaState, *, clear_strikes: bool = False) -> QuotaState:
        """Merge ``state`` into the shared state and return the result.

        ``clear_strikes`` says a request succeeded since the last pause: the doubling of
        secondary pauses starts again from the minimum.
        """
        ...


class QuotaGovernor:
    """The rate-limit state one client consults before every request and updates after each.

    Thread-safe; :meth:`sync` alone touches the store and must be called from the thread that
    may use it (the engine's), never from worker threads.
    """

    def __init__(self, store: QuotaStore | None = None) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._state = QuotaState()
        # What this process learnt since the last sync, to be written to the store.
        self._dirty = False
        self._urgent = False  # a pause or an exhausted resource: others must hear of it at once
        self._succeeded = False  # a request succeeded since the last pause was recorded
        self._version = 0  # bumped by every change the workers make
        self._sent = False  # a request went out since the last sync

    @property
    def state(self) -> QuotaState:
        with self._lock:
            return self._state

    @property
    def shared(self) -> bool:
        """Whether this governor shares its state with other processes through a store."""
        return self._store is not None

    # -- asked before every request ------------------------------------------------------------

    def blocked(self, resources: Iterable[str] = ("core",)) -> Block | None:
        """Why a request using one of ``resources`` may not be sent now, or None if it may."""
        now = datetime.now(UTC)
        with self._lock:
            state = self._state
        if state.paused_until is not None and state.paused_until > now:
            return Block("paused", "", state.paused_until)
        for name in resources:
            quota = state.resources.get(name)
            if quota is not None and quota.exhausted(now):
                return Block("exhausted", name, quota.reset_at)
        return None

    def sending(self) -> None:
        """A request is about to go out (so the next wave's sync is worth a query)."""
        self._sent = True

    # -- told after every answer ---------------------------------------------------------------

    def observe(self, resource: str, quota: ResourceQuota) -> None:
        """Record the primary limit GitHub reported with an answer."""
        with self._lock:
            if not quota.newer_than(self._state.resources.get(resource)):
                return
            resources = {**self._state.resources, resource: quota}
            self._state = replace(self._state, resources=resources)
            self._dirty = True
            self._version += 1
            if quota.remaining <= 0:
                self._urgent = True

    def succeeded(self) -> None:
        """A request got a real answer: a run of secondary limits has ended."""
        with self._lock:
            if self._state.strikes and not self._succeeded:
                self._succeeded = True
                self._dirty = True
                self._version += 1

    def pause(self, retry_after: float | None) -> float:
        """Record a secondary limit; return how many seconds every request now waits.

        GitHub's ``Retry-After`` is used as given up to an hour (a larger one, from a broken
        proxy or server, would stop every process for that long, since the pause is shared);
        without it the pause is at least a minute, doubling while secondary limits repeat with no
        success in between.
        """
        now = datetime.now(UTC)
        with self._lock:
            state = self._state
            strikes = 0 if self._succeeded else state.strikes
            if retry_after is not None:
                wait = min(SECONDARY_MAX_PAUSE, max(0.0, retry_after))
            elif strikes and state.pause_seconds:
                wait = min(SECONDARY_MAX_PAUSE, max(SECONDARY_MIN_PAUSE, state.pause_seconds * 2))
            else:
                wait = SECONDARY_MIN_PAUSE
            until = now + timedelta(seconds=wait)
            if state.paused_until is not None and state.paused_until > until:
                # Parallel requests meet the same limit; the longest pause already known stands.
                until, wait = state.paused_until, (state.paused_until - now).total_seconds()
            self._state = QuotaState(state.resources, until, wait, strikes + 1)
            self._succeeded = False
            self._dirty = self._urgent = True
            self._version += 1
        return wait

    # -- shared with other processes -----------------------------------------------------------

    def sync(self, *, final: bool = False, if_sent: bool = False) -> QuotaState:
        """Exchange state with the store: write what must be shared, read what others met.

        Pauses and exhausted resources are written at once; the remaining counts of a healthy
        quota only when ``final`` (the end of a run's reads), so a run writes at most a couple of
        times. With ``if_sent`` (before a wave) nothing is read when no request went out since
        the last sync: the state read then is as fresh as the wave needs, and a run's query count
        stays fixed. A ``final`` sync with nothing to write reads nothing either. Store failures
        are logged and ignored: the quota is a courtesy to GitHub, and a run must not fail
        because it could not record it.
        """
        if self._store is None:
            return self.state
        with self._lock:
            local, version = self._state, self._version
            write = self._dirty and (self._urgent or final)
            if not write and (final or (if_sent and not self._sent)):
                return local
            self._sent = False
            clear = self._succeeded
        try:
            shared = self._store.save(local, clear_strikes=clear) if write else self._store.load()
        except Exception:
            logger.warning("could not share GitHub's rate-limit state", exc_info=True)
            return local
        with self._lock:
            if write and self._version == version:
                # Nothing new arrived from the workers while the store was written.
                self._dirty = self._urgent = self._succeeded = False
            merged = self._state.merged(shared)
            if not self._dirty:
                # Nothing unsent here: the store's count of repeated pauses is the truth.
                merged = replace(merged, strikes=shared.strikes)
            self._state = merged
            return merged
