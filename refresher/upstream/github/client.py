"""The one HTTP module that talks to GitHub's REST API.

Everything the refresher reads upstream goes through :class:`GitHubClient`. It owns the timeouts,
the bounded retries, the rate-limit bookkeeping and the redirect policy, and it turns every failure
into a :class:`GitHubError` whose ``code`` is one of the entry error codes of the product contract
and whose ``permanent`` flag tells the engine whether trying again later can help.

The module is plain Python (no Django) so it can be used from the engine, management commands,
benchmarks and tests alike.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self
from urllib.parse import quote

# httpx imports httpcore, and every async back end httpcore finds installed, when the first
# transport is built: 0.2-0.35 s that the first refresh of every web process used to pay.
# Imported with this module, it is paid when the process starts, before it serves anything.
import httpcore  # noqa: F401
import httpx

from refresher.json_types import JSON
from refresher.secrets import Secret
from refresher.upstream.github.answers import (
    ErrorCode,
    GitHubError,
    GitHubResponse,
    RateLimit,
    deadline_error,
    endpoint_kind,
)
from refresher.upstream.github.governor import QuotaGovernor, ResourceQuota
from refresher.upstream.github.shapes import Variables, graphql_body
from refresher.upstream.github.tokens import StaticToken, TokenSource
from refresher.upstream.github.transport import Limiter, Request, Retry, ssl_context, wait_for_quota
from refresher.upstream.github.wire import (
    body_message,
    exhausted_error,
    iso_z,
    parse_retry_after,
    parsed_body,
    rate_limit_of,
    redirect_target,
    status_error,
)

__all__ = [
    "API_VERSION",
    "ErrorCode",
    "GitHubClient",
    "GitHubError",
    "GitHubResponse",
    "RateLimit",
    "StaticToken",
    "TokenSource",
    "default_graphql_url",
    "endpoint_kind",
]

logger = logging.getLogger("refresher.github")

API_VERSION = "2022-11-28"
DEFAULT_ACCEPT = "application/vnd.github+json"

_SUCCESS_STATUSES = frozenset({200, 201})
_RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
_REDIRECT_STATUSES = frozenset({301, 302, 307, 308})
_MAX_REDIRECTS = 3


class GitHubClient:
    """A thread-safe GitHub client for read requests, shared by all workers of a refresh.

    One instance holds one connection pool sized to ``concurrency``; the engine calls :meth:`get`
    (REST) and :meth:`post` (GraphQL) from a thread pool. Every request, whatever its API, first
    asks the quota governor (``quota``) whether it may go, and every answer tells the governor
    what GitHub said of the rate limits; a production client's governor is shared with every
    other process through the database (``refresher.upstream.github.quota``). Requests carry
    the token of ``token`` or of a ``auth`` source (an App installation's, minted when needed);
    after a ``401 Bad credentials`` the source may give a new token to try once more, and
    otherwise the client stops: later requests are refused without being sent. The client is
    also a context manager that closes the pool on exit.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str = "",
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        concurrency: int = 8,
        max_inline_wait: float = 10.0,
        user_agent: str = "skillmeat-site",
        transport: httpx.BaseTransport | None = None,
        quota: QuotaGovernor | None = None,
        graphql_url: str = "",
        auth: TokenSource | None = None,
    ) -> None:
        self._base = httpx.URL(base_url.rstrip("/") + "/")
        if self._base.scheme not in ("http", "https") or not self._base.host:
            raise ValueError("base_url must be an absolute http(s) URL")
        self._graphql_url = httpx.URL(graphql_url or default_graphql_url(base_url))
        if self._graphql_url.scheme not in ("http", "https") or not self._graphql_url.host:
            raise ValueError("graphql_url must be an absolute http(s) URL")
        self._auth = auth if auth is not None else StaticToken(Secret(token)) if token else None
        # Every token requests went out with, so no message can repeat one.
        self._sent_tokens: set[Secret] = set()
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._backoff = max(0.0, backoff)
        self._max_inline_wait = max(0.0, max_inline_wait)
        self._limiter = Limiter(concurrency)
        self._lock = threading.Lock()
        self._stats: Counter[tuple[str, int]] = Counter()
        # This client's own view: the latest snapshot per resource and how often each was used.
        self._rate_limits: dict[str, RateLimit] = {}
        self._resource_uses: Counter[str] = Counter()
        self._quota = quota if quota is not None else QuotaGovernor()
        self._unauthorized: GitHubError | None = None
        headers = {
            "Accept": DEFAULT_ACCEPT,
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": user_agent,
        }
        pool = max(1, concurrency)
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            follow_redirects=False,
            transport=transport,
            verify=ssl_context(),
        )

    def __repr__(self) -> str:
        return (
            f"GitHubClient(base_url={str(self._base)!r}, token={'set' if self._auth else 'unset'})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool; the client must not be used afterwards."""
        self._http.close()

    @property
    def rate_limit(self) -> RateLimit | None:
        """The latest snapshot of the resource this client used most, or None before any answer.

        A run sends REST requests (``core``) and GraphQL queries (``graphql``) through one
        client; its record shows the quota it spent the most requests of.
        """
        with self._lock:
            if not self._resource_uses:
                return None
            # On a tie the resource used first wins.
            resource = max(self._resource_uses, key=self._resource_uses.__getitem__)
            return self._rate_limits.get(resource)

    @property
    def quota(self) -> QuotaGovernor:
        """The rate-limit state every request of this client obeys (maybe shared by processes)."""
        return self._quota

    @property
    def authenticated(self) -> bool:
        """True when requests carry a token (GitHub's GraphQL API answers nothing without one)."""
        return self._auth is not None

    @property
    def concurrency(self) -> int:
        """How many requests may be in flight now (lowered after a secondary rate limit)."""
        return self._limiter.limit

    @property
    def stats(self) -> Counter[tuple[str, int]]:
        """A copy of the request counters keyed by (endpoint kind, HTTP status).

        Requests that got no HTTP answer at all (timeouts, connection errors) count under
        status 0; requests refused locally because the quota is exhausted are not counted.
        """
        with self._lock:
            return Counter(self._stats)

    def get(
        self,
        path: str,
        *,
        params: dict[str, str] | None = None,
        etag: str = "",
        last_modified: str = "",
        accept: str = DEFAULT_ACCEPT,
        deadline: float | None = None,
    ) -> GitHubResponse:
        """GET ``path`` (unescaped, relative to ``base_url``) and return the answer.

        With ``etag`` or ``last_modified`` the request is conditional, and an unchanged resource
        comes back as a 304 response with ``data=None``. Every failure raises :class:`GitHubError`.
        ``deadline`` (a ``time.monotonic()`` value) bounds the whole call, retries and waits
        included: no attempt or wait runs past it.
        """
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._request(
            "GET", path, params=params, headers=headers, resource="core", deadline=deadline
        )

    def post(
        self,
        path: str,
        *,
        json: JSON,
        resource: str = "graphql",
        deadline: float | None = None,
    ) -> GitHubResponse:
        """POST a JSON body (a GraphQL query) to ``path`` and return the answer.

        Only read queries are sent this way, so a failed attempt is retried like a GET.
        ``resource`` names the quota the request is expected to spend (what the governor checks
        before sending); what GitHub's ``x-ratelimit-resource`` header says is what is recorded.
        """
        return self._request(
            "POST",
            path,
            headers={"Accept": DEFAULT_ACCEPT},
            json=json,
            resource=resource,
            deadline=deadline,
        )

    def graphql(
        self,
        query: str,
        variables: Variables | None = None,
        *,
        deadline: float | None = None,
    ) -> GitHubResponse:
        """POST one GraphQL query to the GraphQL endpoint and return its parsed body.

        Everything :meth:`post` does (the governor, timeouts, retries, the rate-limit snapshot,
        the error classes) applies. A 200 answer comes back as it is, per-field errors included
        (the caller knows what each alias meant), except GitHub's ``RATE_LIMITED`` answer, which
        raises a ``rate_limited`` :class:`GitHubError` like an exhausted REST quota.
        """
        response = self._request(
            "POST",
            self._graphql_url.path or "/graphql",
            headers={"Accept": "application/json"},
            json={"query": query, "variables": variables or {}},
            resource="graphql",
            deadline=deadline,
            url=self._graphql_url,
        )
        url_path = self._graphql_url.path or "/graphql"
        if not isinstance(response.data, dict):
            raise GitHubError(
                code="upstream_unavailable",
                message=f"GitHub answered {url_path} without a JSON object",
                status=response.status,
            )
        self._raise_for_graphql_rate_limit(response.data, url_path)
        return response

    def _raise_for_graphql_rate_limit(self, body: object, url_path: str) -> None:
        errors = graphql_body(body).get("errors") or []
        if not any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors):
            return
        with self._lock:
            snapshot = self._rate_limits.get("graphql")
        reset_at = snapshot.reset_at if snapshot is not None else None
        wait = max(0.0, (reset_at - datetime.now(UTC)).total_seconds()) if reset_at else None
        raise GitHubError(
            code="rate_limited",
            message=f"GitHub's GraphQL rate limit is exhausted for {url_path}"
            + (f"; it resets at {iso_z(reset_at)}" if reset_at else ""),
            status=200,
            retry_after=wait,
            reset_at=reset_at,
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        resource: str,
        params: dict[str, str] | None = None,
        json: JSON = None,
        deadline: float | None = None,
        url: httpx.URL | None = None,
    ) -> GitHubResponse:
        url_path = "/" + path.lstrip("/")
        kind = "graphql" if resource == "graphql" else endpoint_kind(url_path)
        if url is None:
            # "./" keeps a first segment containing ":" from being read as a URL scheme.
            url = self._base.join("./" + quote(url_path.lstrip("/"), safe="/:@!$&'()*+,;=-._~"))
        request = Request(method, url, url_path, kind, params, headers, json)
        attempt = 0
        while True:
            self._wait_for_quota(url_path, resource, deadline)
            timeout = self._timeout_before(deadline, url_path)
            self._quota.sending()
            try:
                return self._attempt(request, attempt=attempt, timeout=timeout)
            except Retry as retry:
                # The limiter slot is already released: other workers proceed while this one waits.
                if deadline is not None and time.monotonic() + retry.wait >= deadline:
                    raise deadline_error(url_path) from None
                attempt += 1
                time.sleep(retry.wait)

    def _timeout_before(self, deadline: float | None, url_path: str) -> httpx.Timeout | None:
        """The timeout of the next attempt: the configured one, cut to what the deadline leaves."""
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            raise deadline_error(url_path)
        if left >= self._timeout:
            return None
        return httpx.Timeout(left)

    def _attempt(
        self, request: Request, *, attempt: int, timeout: httpx.Timeout | None
    ) -> GitHubResponse:
        url_path, kind, headers = request.url_path, request.kind, request.headers
        can_retry = attempt < self._max_retries
        token = self._token_for(url_path)
        try:
            response = self._send(request, token=token, timeout=timeout)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            self._count(kind, 0)
            transient = not isinstance(exc, httpx.UnsupportedProtocol)
            if transient and can_retry:
                raise Retry(self._backoff_delay(attempt)) from None
            what = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
            raise GitHubError(
                code="upstream_unavailable",
                message=self._scrub(
                    f"GitHub request for {url_path} {what} ({type(exc).__name__})"
                    f" after {attempt + 1} attempt(s)"
                ),
                permanent=not transient,
            ) from None
        except httpx.HTTPError as exc:
            # Anything else httpx raises (decoding, protocol misuse) will not improve on retry.
            self._count(kind, 0)
            raise GitHubError(
                code="upstream_unavailable",
                message=f"GitHub request for {url_path} failed ({type(exc).__name__})",
            ) from None

        status = response.status_code
        self._count(kind, status)
        self._record_rate_limit(response.headers)
        sent_validator = "If-None-Match" in headers or "If-Modified-Since" in headers
        # 201: what GitHub answers a POST that made something (an App's installation token).
        if status in _SUCCESS_STATUSES or (status == 304 and sent_validator):
            self._quota.succeeded()
            return self._success(response, url_path)
        if status == 401:
            if token is not None and self._auth is not None:
                fresh = self._auth.refused(token)
                if fresh is not None and fresh != token:
                    # A token that expired early or was revoked: once more with a new one.
                    raise Retry(0.0)
            raise self._stop_unauthorized(response, url_path)
        if status in (403, 429):
            self._raise_for_rate_limit(response, url_path, can_retry=can_retry)
        if status in _RETRYABLE_STATUSES and can_retry:
            raise Retry(self._backoff_delay(attempt))
        raise status_error(response, url_path, self._scrub)

    def _token_for(self, url_path: str) -> Secret | None:
        """The token this attempt carries; a source that cannot give one stops the client."""
        if self._auth is None:
            return None
        try:
            token = self._auth.current()
        except GitHubError as exc:
            if exc.code == "upstream_unauthorized":
                with self._lock:
                    self._unauthorized = self._unauthorized or exc
            raise
        with self._lock:
            self._sent_tokens.add(token)
        return token

    def _send(
        self,
        request: Request,
        *,
        token: Secret | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """Send the request inside a limiter slot, following same-origin redirects only."""
        url, url_path, params = request.url, request.url_path, request.params
        # httpx.Headers, whose repr hides Authorization: a traceback's captured locals too.
        headers = httpx.Headers(request.headers)
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        with self._limiter:
            for _hop in range(_MAX_REDIRECTS + 1):
                started = time.perf_counter()
                outcome: int | str = "no answer"
                try:
                    response = self._http.request(
                        request.method,
                        url,
                        params=params,
                        headers=headers,
                        json=request.json,
                        timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                    )
                    outcome = response.status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                    raise
                finally:
                    elapsed_ms = (time.perf_counter() - started) * 1000
                    logger.debug(
                        "%s %s -> %s in %.1f ms", request.method, url.path, outcome, elapsed_ms
                    )
                if response.status_code not in _REDIRECT_STATUSES:
                    return response
                target = redirect_target(url, response.headers.get("location", ""))
                if target is None or not self._same_origin(target):
                    raise GitHubError(
                        code="upstream_forbidden",
                        message="redirect to another host refused",
                        status=response.status_code,
                        permanent=True,
                    )
                # A Location with its own query string says what to send; one without keeps ours
                # (a tree read through a renamed repository must stay recursive).
                if target.query:
                    params = None
                url = target
        raise GitHubError(
            code="upstream_unavailable",
            message=f"GitHub redirected {url_path} more than {_MAX_REDIRECTS} times",
            status=response.status_code,
            permanent=True,
        )

    def _same_origin(self, url: httpx.URL) -> bool:
        # Comparing the effective ports keeps "https://h" and "https://h:443" the same origin.
        def origin(u: httpx.URL) -> tuple[str, str, int | None]:
            port = u.port or {"http": 80, "https": 443}.get(u.scheme)
            return (u.scheme, u.host.lower(), port)

        return origin(url) == origin(self._base)

    def _success(self, response: httpx.Response, url_path: str) -> GitHubResponse:
        data = (
            parsed_body(response, url_path) if response.status_code in _SUCCESS_STATUSES else None
        )
        return GitHubResponse(
            status=response.status_code,
            data=data,
            etag=response.headers.get("etag", ""),
            last_modified=response.headers.get("last-modified", ""),
            url_path=url_path,
        )

    def _raise_for_rate_limit(
        self, response: httpx.Response, url_path: str, *, can_retry: bool
    ) -> None:
        """Raise (or ask for a retry) when a 403/429 is a rate limit; return if it is not."""
        said = body_message(response)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if response.headers.get("x-ratelimit-remaining") == "0":
            raise exhausted_error(response, url_path, self._scrub)
        secondary = "secondary rate limit" in said.lower() or retry_after is not None
        if not secondary and response.status_code != 429:
            return
        # Secondary limits punish bursts, so every later request of this client goes slower too,
        # and every request of every process pauses (the governor shares the pause).
        limit = self._limiter.halve()
        wait = self._quota.pause(retry_after)
        logger.warning(
            "GitHub secondary rate limit on %s: concurrency lowered to %d, wait %.0f s",
            url_path,
            limit,
            wait,
        )
        if can_retry and wait <= self._max_inline_wait:
            raise Retry(wait)
        raise GitHubError(
            code="rate_limited",
            message=self._scrub(
                f"GitHub secondary rate limit for {url_path}; retry after {wait:.0f} s"
            ),
            status=response.status_code,
            retry_after=wait,
            reset_at=datetime.now(UTC) + timedelta(seconds=wait),
        )

    def _wait_for_quota(self, url_path: str, resource: str, deadline: float | None) -> None:
        """Send nothing while the quota forbids it (see `transport.wait_for_quota`); after a
        ``401`` every request is refused."""
        if self._unauthorized is not None:
            raise GitHubError(
                code="upstream_unauthorized",
                message=f"{self._unauthorized.message}; request for {url_path} not sent",
                permanent=True,
            )
        wait_for_quota(
            self._quota,
            url_path=url_path,
            resource=resource,
            deadline=deadline,
            max_inline_wait=self._max_inline_wait,
        )

    def _stop_unauthorized(self, response: httpx.Response, url_path: str) -> GitHubError:
        """A 401: the token is wrong or revoked, and no later request can do better."""
        detail = body_message(response) or "Bad credentials"
        error = GitHubError(
            code="upstream_unauthorized",
            message=self._scrub(f"GitHub answered 401 for {url_path}: {detail}"),
            status=401,
            permanent=True,
        )
        with self._lock:
            if self._unauthorized is None:
                self._unauthorized = error
        logger.warning("GitHub refused the token (401); no further request is sent")
        return error

    def _record_rate_limit(self, headers: httpx.Headers) -> None:
        snapshot = rate_limit_of(headers)
        if snapshot is None:
            return
        quota = ResourceQuota(snapshot.limit, snapshot.remaining, snapshot.reset_at)
        self._quota.observe(snapshot.resource, quota)
        with self._lock:
            self._resource_uses[snapshot.resource] += 1
            current = self._rate_limits.get(snapshot.resource)
            # Answers from parallel requests arrive out of order; within one window the quota only
            # goes down, so an older, higher "remaining" must not overwrite a newer, lower one.
            if current is not None and not quota.newer_than(
                ResourceQuota(current.limit, current.remaining, current.reset_at)
            ):
                return
            self._rate_limits[snapshot.resource] = snapshot

    def _count(self, kind: str, status: int) -> None:
        with self._lock:
            self._stats[(kind, status)] += 1

    def _backoff_delay(self, attempt: int) -> float:
        # Exponential with jitter so parallel workers that failed together do not retry together.
        delay = self._backoff * (2.0**attempt) * random.uniform(0.5, 1.0)
        return min(delay, self._max_inline_wait)

    def _scrub(self, text: str) -> str:
        with self._lock:
            sent = list(self._sent_tokens)
        for token in sent:
            if token:
                text = text.replace(token.reveal(), "[token]")
        return text


def default_graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint beside a REST base URL (SPEC 10).

    ``https://api.github.com`` -> ``https://api.github.com/graphql``; a GitHub Enterprise base
    ending in ``/api/v3`` -> ``/api/graphql`` on the same host.
    """
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base.removesuffix("/v3") + "/graphql"
    return base + "/graphql"
