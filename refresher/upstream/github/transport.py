"""The GitHub client's plumbing: its shrinking semaphore, TLS context, requests and quota waits."""

from __future__ import annotations

import functools
import ssl
import threading
import time
from dataclasses import dataclass

import certifi
import httpx

from refresher.json_types import JSON
from refresher.upstream.github.answers import GitHubError
from refresher.upstream.github.governor import QuotaGovernor


class Limiter:
    """A counting semaphore whose size can shrink while requests are in flight."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._in_flight = 0
        self._cond = threading.Condition()

    @property
    def limit(self) -> int:
        with self._cond:
            return self._limit

    def halve(self) -> int:
        """Lower the limit to half (at least 1); requests already running finish undisturbed."""
        with self._cond:
            self._limit = max(1, self._limit // 2)
            return self._limit

    def __enter__(self) -> None:
        with self._cond:
            while self._in_flight >= self._limit:
                self._cond.wait()
            self._in_flight += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context per process (certifi's roots, as httpx uses by default).

    Building one loads the whole CA bundle, which took 140 ms per client on a busy machine:
    more than a warm refresh's network phase. Contexts are safe to share between clients.
    """
    return ssl.create_default_context(cafile=certifi.where())


# Built with the module too, not by the first client of the process (20 ms on a quiet machine).
ssl_context()


@dataclass(frozen=True)
class Request:
    """One request as the client sends it, attempt after attempt."""

    method: str
    url: httpx.URL
    url_path: str
    kind: str
    params: dict[str, str] | None
    headers: dict[str, str]
    json: JSON = None


class Retry(Exception):
    """Control flow inside :meth:`GitHubClient.get`: send the same request again after ``wait``."""

    def __init__(self, wait: float) -> None:
        super().__init__()
        self.wait = wait


def wait_for_quota(
    quota: QuotaGovernor,
    *,
    url_path: str,
    resource: str,
    deadline: float | None,
    max_inline_wait: float,
) -> None:
    """Send nothing while the quota forbids it: wait out a short pause, refuse otherwise.

    A pause no longer than ``max_inline_wait`` (and within the deadline) is slept out, as a
    short ``Retry-After`` would be; a longer pause or an exhausted resource raises
    ``rate_limited`` without a request.
    """
    # /rate_limit itself is free, and is how a caller checks whether the window has reset.
    if url_path == "/rate_limit":
        return
    while (block := quota.blocked((resource,))) is not None:
        wait = block.seconds_left()
        short = block.reason == "paused" and wait <= max_inline_wait
        if short and (deadline is None or time.monotonic() + wait < deadline):
            time.sleep(wait)
            continue
        raise GitHubError(
            code="rate_limited",
            message=f"{block.describe()}; request for {url_path} not sent",
            retry_after=wait,
            reset_at=block.until,
        )
