"""GitHub's primary rate limits as the fake keeps them: REST (``core``), anonymous and GraphQL.

GitHub's documentation (https://docs.github.com/en/rest/rate-limit): every REST endpoint but
search counts against ``core``; a caller without a token gets 60 requests an hour per address;
GraphQL has points of its own; ``GET /rate_limit`` counts against nothing.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import RATE_LIMIT_DOCS_URL, GitHubFailure
from .json_types import JSONObject
from .store import Repo

# Requests without a token get a quota of their own, per address: 60 an hour.
ANONYMOUS_RATE_LIMIT = 60
WINDOW_SECONDS = 3600


@dataclass
class QueryBudget:
    """Per GraphQL request: what the resolvers charged, and the figures `rateLimit` reports."""

    items: int = 0
    cost: int = 1
    nodes: int = 0
    limit: int = 5000
    remaining: int = 5000
    used: int = 0
    reset_at: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Which private repositories the caller may read (the others answer NOT_FOUND).
    can_read: Callable[[Repo], bool] = field(default=lambda repo: not repo.private)

    def charge(self, count: int = 1) -> None:
        """Count ``count`` more resolved items (server time)."""
        with self.lock:
            self.items += count


@dataclass(frozen=True)
class Billed:
    """The rate-limit figures an answer's ``X-RateLimit-*`` headers report."""

    limit: int
    remaining: int
    reset: int


@dataclass
class Bill:
    """The quota a REST answer is billed to, as far as the caller is known."""

    quota: Quota
    identified: bool


class Quota:
    """The remaining requests and points of the current window; thread-safe."""

    def __init__(self, rate_limit: int) -> None:
        self._lock = threading.Lock()
        self.rate_limit = rate_limit
        self.graphql_rate_limit = rate_limit
        self.remaining = rate_limit
        self.anonymous_remaining = ANONYMOUS_RATE_LIMIT
        self.graphql_remaining = rate_limit
        self.reset = int(time.time()) + WINDOW_SECONDS

    def _roll_window(self, *, rest: bool, graphql: bool) -> None:
        # Callers hold the lock.
        if time.time() < self.reset:
            return
        self.remaining = self.rate_limit
        if rest:
            self.anonymous_remaining = ANONYMOUS_RATE_LIMIT
        if graphql:
            self.graphql_remaining = self.graphql_rate_limit
        self.reset = int(time.time()) + WINDOW_SECONDS

    def check_rest(self, *, identified: bool, authorized: bool) -> None:
        """Refuse (403, GitHub's message) when the caller's REST quota is spent."""
        with self._lock:
            self._roll_window(rest=True, graphql=False)
            left = self.remaining if identified else self.anonymous_remaining
            if left > 0:
                return
        who = "user ID 1" if authorized else "127.0.0.1"
        raise GitHubFailure(
            403, f"API rate limit exceeded for {who}.", documentation_url=RATE_LIMIT_DOCS_URL
        )

    def bill_rest(self, *, identified: bool, billed: bool) -> Billed:
        """Spend one request of the caller's quota when ``billed``; the figures to report."""
        with self._lock:
            if identified:
                if billed and self.remaining > 0:
                    self.remaining -= 1
                return Billed(self.rate_limit, self.remaining, self.reset)
            if billed and self.anonymous_remaining > 0:
                self.anonymous_remaining -= 1
            return Billed(ANONYMOUS_RATE_LIMIT, self.anonymous_remaining, self.reset)

    def rate_limit_body(self) -> JSONObject:
        """``GET /rate_limit``'s body."""
        with self._lock:
            core: JSONObject = {
                "limit": self.rate_limit,
                "used": self.rate_limit - self.remaining,
                "remaining": self.remaining,
                "reset": self.reset,
                "resource": "core",
            }
        return {"resources": {"core": core}, "rate": core}

    def graphql_budget(self) -> QueryBudget:
        """A fresh budget for one GraphQL request, with the window's figures."""
        with self._lock:
            self._roll_window(rest=False, graphql=True)
            return QueryBudget(
                limit=self.graphql_rate_limit,
                remaining=self.graphql_remaining,
                used=self.graphql_rate_limit - self.graphql_remaining,
                reset_at=self.reset,
            )

    def charge_graphql(self, cost: int) -> None:
        """Spend ``cost`` GraphQL points."""
        with self._lock:
            self.graphql_remaining = max(0, self.graphql_remaining - cost)

    def graphql_headers(self) -> dict[str, str]:
        """The rate-limit headers of a GraphQL answer."""
        with self._lock:
            remaining, reset = self.graphql_remaining, self.reset
        return {
            "X-GitHub-Request-Id": secrets.token_hex(8).upper(),
            "X-RateLimit-Limit": str(self.graphql_rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used": str(self.graphql_rate_limit - remaining),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Resource": "graphql",
        }
