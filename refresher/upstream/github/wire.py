"""Reading GitHub's HTTP answers: bodies, error classes, redirects, rate-limit headers.

Plain functions over an `httpx.Response`, for the client: what an answer's status means for the
engine (`status_error`), what its rate-limit headers say (`rate_limit_of`), when to try again.
"""

import email.utils
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from urllib.parse import urljoin

import httpx

from refresher.upstream.github.answers import ErrorCode, GitHubError, RateLimit

MAX_MESSAGE_CHARS = 300
# How long GitHub's primary rate-limit window lasts; no reset is further ahead than this.
PRIMARY_WINDOW = timedelta(hours=1)
_NOT_FOUND_STATUSES = frozenset({404, 409, 410, 422})
_FORBIDDEN_STATUSES = frozenset({403, 451})


def parsed_body(response: httpx.Response, url_path: str) -> object:
    """A successful answer's body: parsed JSON, or the text of anything else."""
    if "json" not in response.headers.get("content-type", ""):
        return response.text
    try:
        data: object = response.json()
    except ValueError:
        raise GitHubError(
            code="upstream_unavailable",
            message=f"GitHub answered invalid JSON for {url_path}",
            status=200,
        ) from None
    return data


def status_error(
    response: httpx.Response, url_path: str, scrub: Callable[[str], str]
) -> GitHubError:
    """The error an unsuccessful status stands for (`scrub` takes any token out of it)."""
    status = response.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown Status"
    detail = body_message(response)
    message = f"GitHub answered {status} {phrase} for {url_path}" + (
        f": {detail}" if detail else ""
    )
    if status in _NOT_FOUND_STATUSES:
        # 409 is an empty repository, 422 an unknown commit-ish: nothing there to read.
        code: ErrorCode = "upstream_not_found"
        permanent = True
    elif status in _FORBIDDEN_STATUSES:
        code, permanent = "upstream_forbidden", True
    else:
        # Another 4xx will be refused again; a 5xx or an odd status may pass.
        code, permanent = "upstream_unavailable", 400 <= status < 500
    return GitHubError(code=code, message=scrub(message), status=status, permanent=permanent)


def exhausted_error(
    response: httpx.Response, url_path: str, scrub: Callable[[str], str]
) -> GitHubError:
    """A primary rate limit spent (`x-ratelimit-remaining: 0`): until when."""
    reset_at = parse_epoch(response.headers.get("x-ratelimit-reset"))
    wait = max(0.0, (reset_at - datetime.now(UTC)).total_seconds()) if reset_at else None
    return GitHubError(
        code="rate_limited",
        message=scrub(
            f"GitHub API rate limit exhausted for {url_path}"
            + (f"; it resets at {iso_z(reset_at)}" if reset_at else "")
        ),
        status=response.status_code,
        retry_after=wait,
        reset_at=reset_at,
    )


def rate_limit_of(headers: httpx.Headers) -> RateLimit | None:
    """The rate-limit snapshot an answer's `x-ratelimit-*` headers give; None without them."""
    try:
        return RateLimit(
            limit=int(headers["x-ratelimit-limit"]),
            remaining=int(headers["x-ratelimit-remaining"]),
            # GitHub's primary window is an hour: a reset further ahead (a broken proxy
            # or server) would hold the shared quota spent long after the window ends.
            reset_at=min(
                datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC),
                datetime.now(UTC) + PRIMARY_WINDOW,
            ),
            resource=headers.get("x-ratelimit-resource", "core") or "core",
        )
    except (KeyError, ValueError, OverflowError, OSError):
        return None


def body_message(response: httpx.Response) -> str:
    """GitHub's human ``message`` from an error body, cut short; empty when there is none."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        return ""
    message = " ".join(message.split())
    return message[:MAX_MESSAGE_CHARS]


def redirect_target(url: httpx.URL, location: str) -> httpx.URL | None:
    """The absolute URL a Location header points to; None when it is missing or unusable."""
    if not location:
        return None
    try:
        return httpx.URL(urljoin(str(url), location))
    except httpx.InvalidURL:
        return None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; GitHub sends delta-seconds, HTTP also allows a date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def parse_epoch(value: str | None) -> datetime | None:
    """A Unix time in seconds (`x-ratelimit-reset`) in UTC; None when it is not one."""
    try:
        return datetime.fromtimestamp(int(value or ""), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def iso_z(moment: datetime) -> str:
    """A moment in UTC as GitHub writes it: `2026-01-02T03:04:05Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
