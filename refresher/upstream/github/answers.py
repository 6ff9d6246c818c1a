"""What the GitHub client answers with: a response, a rate-limit snapshot, one error type.

Every failure to get an answer from GitHub is a `GitHubError` whose `code` is one of the entry
error codes of the product contract and whose `permanent` flag tells the engine whether trying
again later can help. Plain Python (no Django, no HTTP library).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

ErrorCode = Literal[
    "upstream_not_found",
    "upstream_forbidden",
    "upstream_unauthorized",
    "rate_limited",
    "upstream_unavailable",
]

_REPO_PREFIX = re.compile(r"^/(?:repos/[^/]+/[^/]+|repositories/\d+)(?P<rest>/.*)?$")
_KIND_BY_PREFIX = (
    ("/git/ref", "ref"),
    ("/git/refs", "ref"),
    ("/git/tags", "tag"),
    ("/git/trees", "tree"),
    ("/git/blobs", "blob"),
    ("/contents", "contents"),
    ("/commits", "commits"),
)


def endpoint_kind(path: str) -> str:
    """Name the kind of GitHub endpoint a request path addresses, for counters and logs.

    Returns one of ``repo``, ``ref``, ``tag``, ``tree``, ``blob``, ``contents``, ``commits`` or
    ``other``. Repositories addressed by id (``/repositories/{id}``, where GitHub redirects renamed
    repositories) count the same as ``/repos/{owner}/{repo}``.
    """
    match = _REPO_PREFIX.match(path.split("?", 1)[0])
    if match is None:
        return "other"
    rest = match.group("rest") or ""
    if rest in ("", "/"):
        return "repo"
    for prefix, kind in _KIND_BY_PREFIX:
        if rest == prefix or rest.startswith(prefix + "/"):
            return kind
    return "other"


@dataclass(frozen=True)
class RateLimit:
    """A snapshot of GitHub's primary rate limit as reported by the ``x-ratelimit-*`` headers."""

    limit: int
    remaining: int
    reset_at: datetime
    resource: str = "core"

    def as_dict(self) -> dict[str, str | int]:
        """The public shape stored in run records and API answers (UTC with Z)."""
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset_at": self.reset_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "resource": self.resource,
        }

    @property
    def exhausted(self) -> bool:
        """True while no request may be sent: nothing remains and the window has not reset."""
        return self.remaining <= 0 and self.reset_at > datetime.now(UTC)


@dataclass(frozen=True)
class GitHubResponse:
    """A successful answer: 200 with its parsed body, or 304 when a validator still matches."""

    status: int
    # Out of the repr: a body may hold a secret (an App's installation token).
    data: object = field(repr=False)  # parsed JSON: read it through `shapes`
    etag: str
    last_modified: str
    url_path: str


class GitHubError(Exception):
    """Every failure to get an answer from GitHub, already classified for the engine.

    ``permanent`` is True when asking again will not help (missing repository, bad token) and False
    for failures that may pass (server errors, timeouts, rate limits). The message is written for
    humans and never contains the token or request headers.
    """

    def __init__(
        self,
        *,
        code: ErrorCode,
        message: str,
        status: int | None = None,
        permanent: bool = False,
        retry_after: float | None = None,
        reset_at: datetime | None = None,
        deadline: bool = False,
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.status = status
        self.permanent = permanent
        self.retry_after = retry_after
        self.reset_at = reset_at
        # True when the caller's deadline, not GitHub, ended the request.
        self.deadline = deadline

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"GitHubError(code={self.code!r}, status={self.status!r}, "
            f"permanent={self.permanent!r}, message={self.message!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions pickle through their positional args by default, which a keyword-only
        # constructor cannot take back; errors may cross a process boundary in task backends.
        return (
            _rebuild_error,
            (
                self.code,
                self.message,
                self.status,
                self.permanent,
                self.retry_after,
                self.reset_at,
                self.deadline,
            ),
        )


def _rebuild_error(
    code: ErrorCode,
    message: str,
    status: int | None,
    permanent: bool,
    retry_after: float | None,
    reset_at: datetime | None,
    deadline: bool,
) -> GitHubError:
    return GitHubError(
        code=code,
        message=message,
        status=status,
        permanent=permanent,
        retry_after=retry_after,
        reset_at=reset_at,
        deadline=deadline,
    )


def deadline_error(url_path: str) -> GitHubError:
    return GitHubError(
        code="upstream_unavailable",
        message=f"the refresh's deadline was reached before GitHub answered {url_path}",
        deadline=True,
    )
