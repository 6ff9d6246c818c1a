"""A fake of GitHub's REST API (version 2022-11-28) served over real HTTP on 127.0.0.1.

Tests, benchmarks and load tests point the site's real GitHub client at it, so
what they exercise is the same wire traffic production sends: headers, conditional requests,
rate-limit headers, redirects and error bodies. Git objects carry real SHA-1s computed the way git
computes them, so a directory's tree SHA changes only when something under it changes.

Run it by hand for the site or locust::

    python -m fakegithub --port 9999 --latency 0.05 --demo
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from refresher.upstream.github.client import API_VERSION, endpoint_kind

from . import history
from .graphql import NODE_LIMIT, GraphQLEndpoint, github_schema, schema_path, serve_graphql
from .graphql import _Context as _GraphQLContext
from .store import (
    _LICENSES,
    _REPO_FIELDS,
    DOCS_URL,
    JSON_TYPE,
    RATE_LIMIT_DOCS_URL,
    WEB_URL,
    _b64_lines,
    _Commit,
    _Entry,
    _iso,
    _node_id,
    _Repo,
    _TagObject,
    git_hash,
)

logger = logging.getLogger("fakegithub")

# What GitHub says when a token sends too much too fast (a secondary rate limit).
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
SECONDARY_LIMIT_DOCS_URL = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
# Requests without a token get a quota of their own, per address: 60 an hour.
ANONYMOUS_RATE_LIMIT = 60
# GitHub's GraphQL endpoint, and GitHub Enterprise's (`/api/graphql` beside `/api/v3`).
GRAPHQL_PATHS = frozenset({"/graphql", "/api/graphql"})


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake answered, as the tests want to inspect it."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]  # lower-cased names
    authorized: bool  # carried the fake's token
    body: bytes = b""  # what a POST sent (GraphQL queries)


@dataclass
class _FailRule:
    pattern: re.Pattern[str]
    status: int
    times: int | None
    message: str | None
    headers: dict[str, str]
    documentation_url: str = DOCS_URL


class _Fail(Exception):
    """An error answer in GitHub's shape, raised from a route."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        documentation_url: str = DOCS_URL,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.message = message or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.documentation_url = documentation_url
        self.extra = dict(extra or {})


class _QuietHandler(WSGIRequestHandler):
    """Send werkzeug's per-request access log to DEBUG instead of stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug(message.rstrip(), *args)


class FakeGitHub:
    """An in-memory set of GitHub repositories answering the REST endpoints the refresher reads.

    Build state with :meth:`add_repo`, :meth:`commit`, :meth:`tag` and :meth:`set_repo`; shape the
    network with ``latency``, :meth:`delay`, :meth:`fail` and ``rate_limit_remaining``; inspect
    traffic through :attr:`requests` and :meth:`count`. All methods are thread-safe.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        rate_limit: int = 5000,
        port: int = 0,
        token: str = "test-token",
    ) -> None:
        self.latency = latency
        self.token = token
        self.rate_limit = rate_limit
        self._port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._repos: dict[str, _Repo] = {}
        self._moved: dict[str, int] = {}
        self._ids = itertools.count(1000)
        self._clock = int(time.time()) - 86400
        self._remaining = rate_limit
        self._anonymous_remaining = ANONYMOUS_RATE_LIMIT
        self.rate_limit_reset = int(time.time()) + 3600
        self._failures: list[_FailRule] = []
        self._delays: list[tuple[re.Pattern[str], float]] = []
        self._records: list[RequestRecord] = []
        self._in_flight = 0
        self._in_flight_paths: list[str] = []
        self.peak_in_flight = 0
        # GraphQL (fakegithub.graphql): its own quota of points, GitHub's server time per
        # resolved item, its 10 s budget per query and its node limit.
        self.graphql_rate_limit = rate_limit
        self._graphql_remaining = rate_limit
        self.graphql_cost_per_item = 0.002
        self.graphql_timeout = 10.0
        self.graphql_node_limit = NODE_LIMIT
        self._graphql_endpoint = GraphQLEndpoint(self)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind 127.0.0.1 (a free port unless one was given) and serve in a background thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        # Building GitHub's schema takes a second: once per process, before the first query.
        if schema_path().exists():
            github_schema()
        # The socket is listening when make_server returns, so callers need not wait for it.
        self._server = make_server(
            "127.0.0.1", self._port, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"fakegithub-{self._server.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests sleeping in latency or delays are woken up and answered."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the API, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("FakeGitHub is not started")
        return f"http://127.0.0.1:{self._server.port}"

    # -- state -------------------------------------------------------------------------------

    def add_repo(
        self,
        full_name: str,
        *,
        files: Mapping[str, str | bytes],
        default_branch: str = "main",
        topics: Iterable[str] = (),
        license_spdx: str | None = "MIT",
        private: bool = False,
        date: datetime | None = None,
    ) -> str:
        """Create a repository whose default branch holds ``files``; return the commit SHA.

        With no files the repository is empty, as GitHub has it before the first push (its git
        endpoints answer 409), and the returned SHA is ``""``.
        """
        owner, name = self._split(full_name)
        with self._lock:
            if full_name.lower() in self._repos:
                raise ValueError(f"{full_name} already exists")
            now = self._tick()
            repo = _Repo(
                id=next(self._ids),
                owner=owner,
                name=name,
                default_branch=default_branch,
                topics=list(topics),
                license_spdx=license_spdx,
                private=private,
                created_at=now,
                updated_at=now,
                pushed_at=now,
            )
            self._repos[full_name.lower()] = repo
            if not files:
                return ""
            return self._commit(
                repo, files=files, branch=default_branch, message="initial commit", date=date
            )

    def commit(
        self,
        full_name: str,
        *,
        files: Mapping[str, str | bytes | None],
        branch: str | None = None,
        message: str = "update",
        date: datetime | None = None,
    ) -> str:
        """Commit changes on ``branch`` (default branch; a new one starts from it); return its SHA.

        ``None`` deletes a file; files not named are carried over from the parent commit.
        ``date`` sets the commit's author and committer date (back-dated or fresh commits).
        """
        with self._lock:
            repo = self._repo(full_name)
            return self._commit(
                repo, files=files, branch=branch or repo.default_branch, message=message, date=date
            )

    def tag(
        self, full_name: str, name: str, *, sha: str | None = None, annotated: bool = False
    ) -> None:
        """Point tag ``name`` at a commit (default branch head); annotated tags get a tag object."""
        with self._lock:
            repo = self._repo(full_name)
            target = sha or repo.branches[repo.default_branch]
            if target not in repo.commits:
                raise ValueError(f"unknown commit {target}")
            if annotated:
                now = self._tick()
                text = (
                    f"object {target}\ntype commit\ntag {name}\n"
                    f"tagger Fake Tagger <tagger@example.com> {now} +0000\n\nRelease {name}\n"
                )
                tag_sha = git_hash("tag", text.encode())
                repo.tag_objects[tag_sha] = _TagObject(
                    tag_sha, name, target, f"Release {name}\n", now
                )
                target = tag_sha
            repo.tags[name] = target

    def set_repo(self, full_name: str, **fields: Any) -> None:
        """Change repository metadata (topics, license_spdx, description, ...); bumps updated_at."""
        unknown = set(fields) - _REPO_FIELDS
        if unknown:
            raise TypeError(f"unknown repository fields: {sorted(unknown)}")
        with self._lock:
            repo = self._repo(full_name)
            branch = fields.get("default_branch")
            if branch is not None and not repo.empty and branch not in repo.branches:
                raise ValueError(f"no branch {branch!r}")
            for key, value in fields.items():
                setattr(repo, key, list(value) if key == "topics" else value)
            repo.updated_at = self._tick()

    def rename(self, full_name: str, new_full_name: str) -> None:
        """Rename a repository; the old name then answers 301 to ``/repositories/{id}``."""
        owner, name = self._split(new_full_name)
        with self._lock:
            repo = self._repo(full_name)
            del self._repos[full_name.lower()]
            repo.owner, repo.name = owner, name
            repo.updated_at = self._tick()
            self._repos[new_full_name.lower()] = repo
            self._moved[full_name.lower()] = repo.id

    def head(self, full_name: str, branch: str | None = None) -> str:
        """The commit SHA at the tip of ``branch`` (default branch)."""
        with self._lock:
            repo = self._repo(full_name)
            return repo.branches.get(branch or repo.default_branch, "")

    def tree_sha(self, full_name: str, path: str, *, ref: str | None = None) -> str:
        """The git SHA of ``path`` (a blob or a tree; '' is the root tree) at ``ref``."""
        with self._lock:
            repo = self._repo(full_name)
            commit = repo.resolve(ref or repo.default_branch)
            if commit is None:
                raise KeyError(f"unknown ref {ref!r}")
            entry = repo.lookup(repo.commits[commit].tree, path.strip("/"))
            if entry is None:
                raise KeyError(f"no {path!r} at {ref or repo.default_branch}")
            return entry.sha

    def full_names(self) -> list[str]:
        """The repositories the fake holds, by their current names."""
        with self._lock:
            return sorted(repo.full_name for repo in self._repos.values())

    def truncate_trees(self, full_name: str) -> None:
        """Make recursive trees of this repository answer ``truncated: true``, listing less."""
        with self._lock:
            self._repo(full_name).truncated = True

    @property
    def rate_limit_remaining(self) -> int:
        """Requests left in the current window; set it to 0 to make GitHub refuse with 403."""
        with self._lock:
            return self._remaining

    @rate_limit_remaining.setter
    def rate_limit_remaining(self, value: int) -> None:
        with self._lock:
            self._remaining = max(0, value)

    @property
    def anonymous_remaining(self) -> int:
        """Requests left for callers without a token (GitHub: 60 an hour per address)."""
        with self._lock:
            return self._anonymous_remaining

    # -- network shaping ---------------------------------------------------------------------

    def fail(
        self,
        path_regex: str,
        *,
        status: int,
        times: int | None = None,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer requests whose path matches with ``status`` (``times`` times, or always).

        The body is GitHub's error shape; ``headers`` are sent last, so they can override the
        rate-limit headers (``x-ratelimit-remaining: 0``) or add ``Retry-After`` or ``Location``.
        """
        with self._lock:
            self._failures.append(
                _FailRule(re.compile(path_regex), status, times, message, dict(headers or {}))
            )

    def secondary_limit(
        self,
        path_regex: str = r".",
        *,
        status: int = 403,
        retry_after: int | None = None,
        times: int | None = None,
    ) -> None:
        """Answer matching requests as GitHub does when a secondary rate limit is met.

        GitHub answers 403 or 429 with its secondary-limit message, with ``Retry-After`` when it
        says how long to wait and without it when it does not; the primary limit is untouched.
        """
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        with self._lock:
            self._failures.append(
                _FailRule(
                    re.compile(path_regex),
                    status,
                    times,
                    SECONDARY_LIMIT_MESSAGE,
                    headers,
                    SECONDARY_LIMIT_DOCS_URL,
                )
            )

    def delay(self, path_regex: str, seconds: float) -> None:
        """Hold answers to matching paths for ``seconds`` (to make a client time out)."""
        with self._lock:
            self._delays.append((re.compile(path_regex), seconds))

    def clear_faults(self) -> None:
        """Forget every :meth:`fail` and :meth:`delay` rule."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()

    # -- traffic log -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the requests answered so far, oldest first."""
        with self._lock:
            return list(self._records)

    def in_flight_paths(self) -> list[str]:
        """The paths of the requests being answered right now (arrived, not yet answered)."""
        with self._lock:
            return list(self._in_flight_paths)

    def reset_log(self) -> None:
        """Forget the recorded requests and the in-flight peak."""
        with self._lock:
            self._records.clear()
            self.peak_in_flight = 0

    def count(self, *, kind: str | None = None, status: int | None = None) -> int:
        """How many requests were answered, optionally of one endpoint kind and/or status."""
        return sum(
            1
            for record in self.requests
            if (kind is None or endpoint_kind(record.path) == kind)
            and (status is None or record.status == status)
        )

    # -- internals: state --------------------------------------------------------------------

    @staticmethod
    def _split(full_name: str) -> tuple[str, str]:
        owner, sep, name = full_name.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise ValueError(f"expected owner/name, got {full_name!r}")
        return owner, name

    def _repo(self, full_name: str) -> _Repo:
        try:
            return self._repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"no repository {full_name}") from None

    def _tick(self) -> int:
        # A strictly increasing clock keeps commit SHAs and Last-Modified distinct within a second.
        self._clock = max(int(time.time()), self._clock + 1)
        return self._clock

    def _commit(
        self,
        repo: _Repo,
        *,
        files: Mapping[str, str | bytes | None],
        branch: str,
        message: str,
        date: datetime | None = None,
    ) -> str:
        parent = repo.branches.get(branch) or repo.branches.get(repo.default_branch)
        tree_files = dict(repo.commits[parent].files) if parent else {}
        for path, content in files.items():
            path = path.strip("/")
            if content is None:
                if tree_files.pop(path, None) is None:
                    raise ValueError(f"cannot delete missing file {path!r}")
            else:
                tree_files[path] = content.encode() if isinstance(content, str) else content
        tree = repo.write_tree(tree_files)
        now = int(date.timestamp()) if date is not None else self._tick()
        parents = (parent,) if parent else ()
        text = f"tree {tree}\n"
        text += "".join(f"parent {p}\n" for p in parents)
        signature = f"Fake Author <author@example.com> {now} +0000"
        text += f"author {signature}\ncommitter {signature}\n\n{message}\n"
        sha = git_hash("commit", text.encode())
        repo.commits[sha] = _Commit(sha, tree, parents, message + "\n", now, tree_files)
        repo.branches[branch] = sha
        repo.pushed_at = repo.updated_at = now
        return sha

    # -- internals: HTTP ---------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self._in_flight += 1
            self._in_flight_paths.append(request.path)
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            response = self._handle(request)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._in_flight_paths.remove(request.path)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        path = request.path
        wait = self.latency
        with self._lock:
            wait += sum(seconds for pattern, seconds in self._delays if pattern.search(path))
        if wait > 0:
            self._stopping.wait(wait)

        authorization = request.headers.get("Authorization", "")
        authorized = bool(self.token) and authorization in (
            f"Bearer {self.token}",
            f"token {self.token}",
        )
        if path in GRAPHQL_PATHS:
            response = serve_graphql(
                self, request, authorization=authorization, authorized=authorized
            )
            self._log(request, response, authorized)
            return response
        overrides: dict[str, str] = {}
        try:
            if request.method not in ("GET", "HEAD"):
                raise _Fail(404)
            if path == "/rate_limit":
                response = self._json(self._rate_limit_body())
            else:
                if authorization and not authorized:
                    raise _Fail(401, "Bad credentials")
                self._check_quota(authorized)
                self._injected_failure(path)
                response = self._route(request, authorized)
        except _Fail as failure:
            overrides = failure.headers
            response = self._error(failure)
        response = self._conditional(request, response)

        # /rate_limit is free, and so is a 304, but only for a request made with a token:
        # GitHub bills an unauthenticated 304 like any other answer.
        billed = path != "/rate_limit" and (response.status_code != 304 or not authorized)
        with self._lock:
            if authorized or not self.token:
                if billed and self._remaining > 0:
                    self._remaining -= 1
                limit, remaining = self.rate_limit, self._remaining
            else:
                if billed and self._anonymous_remaining > 0:
                    self._anonymous_remaining -= 1
                limit, remaining = ANONYMOUS_RATE_LIMIT, self._anonymous_remaining
            reset = self.rate_limit_reset
        response.headers.update(
            {
                "X-GitHub-Api-Version-Selected": API_VERSION,
                "X-GitHub-Request-Id": secrets.token_hex(8).upper(),
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Used": str(limit - remaining),
                "X-RateLimit-Reset": str(reset),
                "X-RateLimit-Resource": "core",
                "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
            }
        )
        response.headers.update(overrides)
        record = RequestRecord(
            method=request.method,
            path=path,
            query=dict(request.args.items()),
            status=response.status_code,
            headers={key.lower(): value for key, value in request.headers.items()},
            authorized=authorized,
        )
        with self._lock:
            self._records.append(record)
        return response

    @property
    def graphql_remaining(self) -> int:
        """GraphQL points left in the current window; 0 makes GitHub refuse (RATE_LIMITED)."""
        with self._lock:
            return self._graphql_remaining

    @graphql_remaining.setter
    def graphql_remaining(self, value: int) -> None:
        with self._lock:
            self._graphql_remaining = max(0, value)

    def graphql_queries(self) -> list[str]:
        """The query texts of the GraphQL requests answered so far, oldest first."""
        out = []
        for record in self.requests:
            if record.path in GRAPHQL_PATHS and record.body:
                try:
                    out.append(str(json.loads(record.body).get("query", "")))
                except (ValueError, AttributeError):
                    out.append("")
        return out

    def _graphql_quota(self) -> _GraphQLContext:
        with self._lock:
            if time.time() >= self.rate_limit_reset:
                self._remaining = self.rate_limit
                self._graphql_remaining = self.graphql_rate_limit
                self.rate_limit_reset = int(time.time()) + 3600
            return _GraphQLContext(
                limit=self.graphql_rate_limit,
                remaining=self._graphql_remaining,
                used=self.graphql_rate_limit - self._graphql_remaining,
                reset_at=self.rate_limit_reset,
            )

    def _charge_graphql(self, cost: int) -> None:
        with self._lock:
            self._graphql_remaining = max(0, self._graphql_remaining - cost)

    def _graphql_headers(self) -> dict[str, str]:
        with self._lock:
            remaining, reset = self._graphql_remaining, self.rate_limit_reset
        return {
            "X-GitHub-Request-Id": secrets.token_hex(8).upper(),
            "X-RateLimit-Limit": str(self.graphql_rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used": str(self.graphql_rate_limit - remaining),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Resource": "graphql",
        }

    def _log(self, request: Request, response: Response, authorized: bool) -> None:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query=dict(request.args.items()),
            status=response.status_code,
            headers={key.lower(): value for key, value in request.headers.items()},
            authorized=authorized,
            body=request.get_data() if request.method == "POST" else b"",
        )
        with self._lock:
            self._records.append(record)

    def _check_quota(self, authorized: bool) -> None:
        with self._lock:
            if time.time() >= self.rate_limit_reset:
                self._remaining = self.rate_limit
                self._anonymous_remaining = ANONYMOUS_RATE_LIMIT
                self.rate_limit_reset = int(time.time()) + 3600
            left = self._remaining if authorized or not self.token else self._anonymous_remaining
            if left > 0:
                return
        who = "user ID 1" if authorized else "127.0.0.1"
        raise _Fail(
            403,
            f"API rate limit exceeded for {who}.",
            documentation_url=RATE_LIMIT_DOCS_URL,
        )

    def _injected_failure(self, path: str) -> None:
        with self._lock:
            for rule in self._failures:
                if rule.pattern.search(path) and (rule.times is None or rule.times > 0):
                    if rule.times is not None:
                        rule.times -= 1
                    raise _Fail(
                        rule.status,
                        rule.message,
                        headers=rule.headers,
                        documentation_url=rule.documentation_url,
                    )

    def _conditional(self, request: Request, response: Response) -> Response:
        """Add a strong ETag to a 200 and answer 304 when the client's validator still holds."""
        if response.status_code != 200:
            return response
        etag = '"' + hashlib.sha256(response.get_data()).hexdigest() + '"'
        response.headers["ETag"] = etag
        last_modified = response.headers.get("Last-Modified")
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None:
            candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            fresh = etag in candidates or "*" in candidates
        elif last_modified and request.headers.get("If-Modified-Since"):
            try:
                since = parsedate_to_datetime(request.headers["If-Modified-Since"])
                fresh = parsedate_to_datetime(last_modified) <= since
            except (TypeError, ValueError):
                fresh = False
        else:
            fresh = False
        if not fresh:
            return response
        not_modified = Response(status=304)
        not_modified.headers["ETag"] = etag
        if last_modified:
            not_modified.headers["Last-Modified"] = last_modified
        return not_modified

    def _json(self, payload: Any, *, status: int = 200) -> Response:
        return Response(json.dumps(payload), status=status, content_type=JSON_TYPE)

    def _error(self, failure: _Fail) -> Response:
        body = {
            "message": failure.message,
            "documentation_url": failure.documentation_url,
            "status": str(failure.status),
            **failure.extra,
        }
        return self._json(body, status=failure.status)

    def _rate_limit_body(self) -> dict[str, Any]:
        with self._lock:
            core = {
                "limit": self.rate_limit,
                "used": self.rate_limit - self._remaining,
                "remaining": self._remaining,
                "reset": self.rate_limit_reset,
                "resource": "core",
            }
        return {"resources": {"core": core}, "rate": core}

    # -- internals: routes -------------------------------------------------------------------

    def _route(self, request: Request, authorized: bool) -> Response:
        path = request.path
        with self._lock:
            match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
            if match:
                key = f"{match[1]}/{match[2]}".lower()
                rest = match[3] or ""
                if key in self._moved and key not in self._repos:
                    self._redirect(self._moved[key], rest, request.query_string.decode())
                repo = self._repos.get(key)
            else:
                match = re.fullmatch(r"/repositories/(\d+)(/.*)?", path)
                if not match:
                    raise _Fail(404)
                rest = match[2] or ""
                repo = next((r for r in self._repos.values() if r.id == int(match[1])), None)
            # GitHub hides private repositories from callers without access behind a 404.
            if repo is None or (repo.private and not authorized):
                raise _Fail(404)
            return self._repo_route(request, repo, rest)

    def _redirect(self, repo_id: int, rest: str, query: str = "") -> None:
        # GitHub's Location for a renamed repository keeps the request's query string.
        location = f"{self.url}/repositories/{repo_id}{rest}" + (f"?{query}" if query else "")
        raise _Fail(
            301,
            "Moved Permanently",
            headers={"Location": location},
            documentation_url="https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects",
            extra={"url": location},
        )

    def _repo_route(self, request: Request, repo: _Repo, rest: str) -> Response:
        accept = request.headers.get("Accept", "")
        if rest in ("", "/"):
            response = self._json(self._repo_body(repo))
            response.headers["Last-Modified"] = format_datetime(
                datetime.fromtimestamp(repo.updated_at, UTC), usegmt=True
            )
            return response
        if match := re.fullmatch(r"/contents(?:/(.*))?", rest):
            return self._contents(
                repo, (match[1] or "").strip("/"), request.args.get("ref"), accept
            )
        if repo.empty:
            raise _Fail(409, "Git Repository is empty.")
        if match := re.fullmatch(r"/git/refs?/(.+)", rest):
            return self._json(self._ref_body(repo, match[1]))
        if match := re.fullmatch(r"/git/tags/([0-9a-f]{40})", rest):
            return self._json(self._tag_body(repo, match[1]))
        if match := re.fullmatch(r"/git/trees/(.+)", rest):
            return self._json(self._tree_body(repo, match[1], "recursive" in request.args))
        if match := re.fullmatch(r"/git/blobs/([0-9a-f]{40})", rest):
            return self._blob(repo, match[1], accept)
        if match := re.fullmatch(r"/commits/(.+)", rest):
            return self._commit_answer(repo, match[1], accept)
        if rest in ("/commits", "/commits/"):
            return self._commit_list(request, repo)
        if match := re.fullmatch(r"/git/commits/([0-9a-f]{40})", rest):
            commit = repo.commits.get(match[1])
            if commit is None:
                raise _Fail(404)
            return self._json(
                history.git_commit(self._api(repo, ""), self._web(repo), commit, _unsigned())
            )
        raise _Fail(404)

    def _web(self, repo: _Repo) -> str:
        return f"{WEB_URL}/{repo.full_name}"

    def _commit_list(self, request: Request, repo: _Repo) -> Response:
        """`GET /repos/{o}/{r}/commits` (fakegithub.history)."""
        args = {k: v for k, v in request.args.items()}
        start = repo.resolve(args.get("sha") or repo.default_branch)
        if start is None:
            raise _Fail(404, f"No commit found for SHA: {args.get('sha')}")
        try:
            found = history.history(
                repo,
                start,
                path=args.get("path", ""),
                since=history.parse_time(args.get("since")),
                until=history.parse_time(args.get("until")),
            )
            page, links = history.page_of(found, args, self._api(repo, "/commits"))
        except history.BadRequest as exc:
            raise _Fail(422, str(exc)) from None
        api, web = self._api(repo, ""), self._web(repo)
        response = self._json([history.commit_item(api, web, c, _unsigned()) for c in page])
        response.headers.update(links)
        return response

    def _api(self, repo: _Repo, tail: str) -> str:
        return f"{self.url}/repos/{repo.full_name}{tail}"

    def _repo_body(self, repo: _Repo) -> dict[str, Any]:
        license_body = None
        if repo.license_spdx:
            key, name = _LICENSES.get(
                repo.license_spdx, (repo.license_spdx.lower(), repo.license_spdx)
            )
            license_body = {
                "key": key,
                "name": name,
                "spdx_id": repo.license_spdx,
                "url": None if key == "other" else f"{self.url}/licenses/{key}",
                "node_id": _node_id("License", key),
            }
        owner_url = f"{self.url}/users/{repo.owner}"
        return {
            "id": repo.id,
            "node_id": _node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": {
                "login": repo.owner,
                "id": int(hashlib.sha1(repo.owner.lower().encode()).hexdigest()[:7], 16),
                "node_id": _node_id("User", repo.owner),
                "avatar_url": f"https://avatars.githubusercontent.com/{repo.owner}",
                "url": owner_url,
                "html_url": f"{WEB_URL}/{repo.owner}",
                "type": repo.owner_type,
                "site_admin": False,
            },
            "html_url": f"{WEB_URL}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": self._api(repo, ""),
            "git_refs_url": self._api(repo, "/git/refs{/sha}"),
            "trees_url": self._api(repo, "/git/trees{/sha}"),
            "contents_url": self._api(repo, "/contents/{+path}"),
            "created_at": _iso(repo.created_at),
            "updated_at": _iso(repo.updated_at),
            "pushed_at": _iso(repo.pushed_at),
            "clone_url": f"{WEB_URL}/{repo.full_name}.git",
            "homepage": repo.homepage,
            "size": sum(len(blob) for blob in repo.blobs.values()) // 1024,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "forks_count": 0,
            "archived": repo.archived,
            "disabled": False,
            "open_issues_count": 0,
            "license": license_body,
            "topics": list(repo.topics),
            "visibility": "private" if repo.private else "public",
            "default_branch": repo.default_branch,
        }

    def _ref_body(self, repo: _Repo, ref: str) -> dict[str, Any]:
        kind, _, name = ref.partition("/")
        table = {"heads": repo.branches, "tags": repo.tags}.get(kind, {})
        sha = table.get(name)
        if sha is None:
            raise _Fail(404)
        is_tag_object = sha in repo.tag_objects
        return {
            "ref": f"refs/{ref}",
            "node_id": _node_id("Ref", f"{repo.id}:{ref}"),
            "url": self._api(repo, f"/git/refs/{ref}"),
            "object": {
                "sha": sha,
                "type": "tag" if is_tag_object else "commit",
                "url": self._api(repo, f"/git/{'tags' if is_tag_object else 'commits'}/{sha}"),
            },
        }

    def _tag_body(self, repo: _Repo, sha: str) -> dict[str, Any]:
        tag = repo.tag_objects.get(sha)
        if tag is None:
            raise _Fail(404)
        return {
            "node_id": _node_id("Tag", sha),
            "tag": tag.name,
            "sha": sha,
            "url": self._api(repo, f"/git/tags/{sha}"),
            "message": tag.message,
            "tagger": {
                "name": "Fake Tagger",
                "email": "tagger@example.com",
                "date": _iso(tag.timestamp),
            },
            "object": {
                "type": "commit",
                "sha": tag.target,
                "url": self._api(repo, f"/git/commits/{tag.target}"),
            },
            "verification": _unsigned(),
        }

    def _tree_body(self, repo: _Repo, sha_or_ref: str, recursive: bool) -> dict[str, Any]:
        if sha_or_ref in repo.trees:
            tree = sha_or_ref
        else:
            commit = repo.resolve(sha_or_ref)
            if commit is None:
                raise _Fail(404)
            tree = repo.commits[commit].tree
        truncated = recursive and repo.truncated
        entries = self._tree_entries(repo, tree, recursive=recursive and not truncated)
        return {
            "sha": tree,
            "url": self._api(repo, f"/git/trees/{tree}"),
            "tree": entries,
            "truncated": truncated,
        }

    def _tree_entries(self, repo: _Repo, tree: str, *, recursive: bool) -> list[dict[str, Any]]:
        pairs = repo.walk(tree) if recursive else ((e.name, e) for e in repo.trees[tree])
        entries = []
        for path, entry in pairs:
            item: dict[str, Any] = {
                "path": path,
                "mode": "040000" if entry.is_tree else entry.mode,
                "type": "tree" if entry.is_tree else "blob",
                "sha": entry.sha,
            }
            if entry.is_tree:
                item["url"] = self._api(repo, f"/git/trees/{entry.sha}")
            else:
                item["size"] = len(repo.blobs[entry.sha])
                item["url"] = self._api(repo, f"/git/blobs/{entry.sha}")
            entries.append(item)
        return entries

    def _blob(self, repo: _Repo, sha: str, accept: str) -> Response:
        data = repo.blobs.get(sha)
        if data is None:
            raise _Fail(404)
        if "vnd.github.raw" in accept:
            return Response(data, content_type="application/vnd.github.raw")
        return self._json(
            {
                "sha": sha,
                "node_id": _node_id("Blob", sha),
                "size": len(data),
                "url": self._api(repo, f"/git/blobs/{sha}"),
                "content": _b64_lines(data),
                "encoding": "base64",
            }
        )

    def _contents(self, repo: _Repo, path: str, ref: str | None, accept: str) -> Response:
        if repo.empty:
            raise _Fail(404, "This repository is empty.")
        ref = ref or repo.default_branch
        commit = repo.resolve(ref)
        if commit is None:
            raise _Fail(404, f"No commit found for the ref {ref}")
        entry = repo.lookup(repo.commits[commit].tree, path)
        if entry is None:
            raise _Fail(404)
        if entry.is_tree:
            listing = [
                self._content_item(repo, f"{path}/{child.name}".lstrip("/"), child, ref)
                for child in repo.trees[entry.sha]
            ]
            return self._json(listing)
        data = repo.blobs[entry.sha]
        if "vnd.github.raw" in accept:
            return Response(data, content_type="application/vnd.github.raw")
        item = self._content_item(repo, path, entry, ref)
        item.update({"content": _b64_lines(data), "encoding": "base64"})
        return self._json(item)

    def _content_item(self, repo: _Repo, path: str, entry: _Entry, ref: str) -> dict[str, Any]:
        kind = "dir" if entry.is_tree else "file"
        self_url = self._api(repo, f"/contents/{path}?ref={ref}")
        git_url = self._api(repo, f"/git/{'trees' if entry.is_tree else 'blobs'}/{entry.sha}")
        html_url = f"{WEB_URL}/{repo.full_name}/{'tree' if entry.is_tree else 'blob'}/{ref}/{path}"
        return {
            "type": kind,
            "size": 0 if entry.is_tree else len(repo.blobs[entry.sha]),
            "name": entry.name,
            "path": path,
            "sha": entry.sha,
            "url": self_url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": None
            if entry.is_tree
            else f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
            "_links": {"self": self_url, "git": git_url, "html": html_url},
        }

    def _commit_answer(self, repo: _Repo, ref: str, accept: str) -> Response:
        sha = repo.resolve(ref)
        if sha is None:
            # GitHub answers an unknown commit-ish here with 422, not 404.
            raise _Fail(
                422,
                f"No commit found for SHA: {ref}",
                documentation_url=f"{DOCS_URL}/commits/commits#get-a-commit",
            )
        if "vnd.github.sha" in accept:
            return Response(sha, content_type="application/vnd.github.sha")
        commit = repo.commits[sha]
        person = {
            "name": "Fake Author",
            "email": "author@example.com",
            "date": _iso(commit.timestamp),
        }
        return self._json(
            {
                "sha": sha,
                "node_id": _node_id("Commit", sha),
                "commit": {
                    "author": person,
                    "committer": person,
                    "message": commit.message.rstrip("\n"),
                    "tree": {
                        "sha": commit.tree,
                        "url": self._api(repo, f"/git/trees/{commit.tree}"),
                    },
                    "url": self._api(repo, f"/git/commits/{sha}"),
                    "comment_count": 0,
                    "verification": _unsigned(),
                },
                "url": self._api(repo, f"/commits/{sha}"),
                "html_url": f"{WEB_URL}/{repo.full_name}/commit/{sha}",
                "author": None,
                "committer": None,
                "parents": [
                    {
                        "sha": parent,
                        "url": self._api(repo, f"/commits/{parent}"),
                        "html_url": f"{WEB_URL}/{repo.full_name}/commit/{parent}",
                    }
                    for parent in commit.parents
                ],
            }
        )


def _unsigned() -> dict[str, Any]:
    return {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }
