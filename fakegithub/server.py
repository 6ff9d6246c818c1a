"""A fake of GitHub's REST API (version 2022-11-28) and GraphQL API over real HTTP on 127.0.0.1.

Tests, benchmarks and load tests point the site's real GitHub client at it, so
what they exercise is the same wire traffic production sends: headers, conditional requests,
rate-limit headers, redirects and error bodies. Git objects carry real SHA-1s computed the way git
computes them, so a directory's tree SHA changes only when something under it changes.

The fake is written from GitHub's documentation alone and imports nothing of the site: a
look-alike that shared code with the client it tests could share its bugs.

Run it by hand for the site or locust::

    python -m fakegithub --port 9999 --latency 0.05 --demo
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .accounts import AccountRoutes
from .apps import Apps
from .endpoints import (
    API_VERSION,
    GRAPHQL_PATHS,
    RATE_LIMIT_PATH,
    endpoint_kind,
    rate_limit_resource,
)
from .errors import SECONDARY_LIMIT_DOCS_URL, SECONDARY_LIMIT_MESSAGE, GitHubFailure
from .faults import Faults, Hold
from .git_http import GitHTTP, credential_token
from .git_repos import GitRepos
from .graphql import GraphQLEndpoint
from .graphql_http import GraphQLService, serve_graphql
from .graphql_schema import NODE_LIMIT, github_schema, schema_path
from .identities import Identities, anyone_can_read
from .quota import Bill, Quota
from .responses import conditional, error_response, json_response
from .rest import RestRoutes
from .store import REPO_FIELDS, RepoStore

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["SECONDARY_LIMIT_DOCS_URL", "SECONDARY_LIMIT_MESSAGE", "FakeGitHub", "RequestRecord"]


logger = logging.getLogger("fakegithub")


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


class _QuietHandler(WSGIRequestHandler):
    """Send werkzeug's per-request access log to DEBUG instead of stderr."""

    def log(self, type: str, message: str, *args: object) -> None:
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
        self._token = token
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._store = RepoStore()
        self._faults = Faults()
        self._quota = Quota(rate_limit)
        self._rest = RestRoutes(self._store, lambda: self.url)
        # Whose each token is (the fake's own reads everything), and the GitHub Apps.
        self._identities = Identities(token, self._quota)
        self._apps = Apps(self._identities)
        self._accounts = AccountRoutes(
            self._store, self._apps, self._identities, self._rest, lambda: self.url
        )
        # Git's smart HTTP (clones and fetches) over the repositories written to disk.
        self._git_repos = GitRepos()
        self._git = GitHTTP(self._store, self._identities, self._git_repos)
        self._records: list[RequestRecord] = []
        self._in_flight_paths: list[str] = []
        self.peak_in_flight = 0
        # GraphQL: its own quota of points, GitHub's server time per resolved item, its 10 s
        # budget per query and its node limit.
        self.graphql_cost_per_item = 0.002
        self.graphql_timeout = 10.0
        self.graphql_node_limit = NODE_LIMIT
        self._graphql = GraphQLService(
            GraphQLEndpoint(self._store, self), self._faults, self._identities, self._stopping
        )

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
        self._git_repos.remove()

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

    @property
    def web_url(self) -> str:
        """The web host, which also serves git (``{web_url}/{owner}/{repo}.git``): the API's."""
        return self.url

    def clone_url(self, full_name: str) -> str:
        """The HTTPS clone URL GitHub gives ``owner/repo``, on the fake's host."""
        return f"{self.web_url}/{full_name}.git"

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
        repo = self._store.add(
            full_name,
            default_branch=default_branch,
            topics=topics,
            license_spdx=license_spdx,
            private=private,
        )
        if not files:
            return ""
        return self._store.commit(
            repo, files=dict(files), branch=default_branch, message="initial commit", date=date
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
        with self._store.lock:
            repo = self._store.require(full_name)
            return self._store.commit(
                repo,
                files=files,
                branch=branch or repo.default_branch,
                message=message,
                date=date,
            )

    def tag(
        self, full_name: str, name: str, *, sha: str | None = None, annotated: bool = False
    ) -> None:
        """Point tag ``name`` at a commit (default branch head); annotated tags get a tag object."""
        with self._store.lock:
            self._store.tag(self._store.require(full_name), name, sha=sha, annotated=annotated)

    def set_repo(self, full_name: str, **fields: object) -> None:
        """Change repository metadata (topics, license_spdx, description, ...); bumps updated_at."""
        unknown = set(fields) - REPO_FIELDS
        if unknown:
            raise TypeError(f"unknown repository fields: {sorted(unknown)}")
        with self._store.lock:
            repo = self._store.require(full_name)
            branch = fields.get("default_branch")
            if branch is not None and not repo.empty and branch not in repo.branches:
                raise ValueError(f"no branch {branch!r}")
            for key, value in fields.items():
                if key == "topics" and isinstance(value, Iterable):
                    value = list(value)
                setattr(repo, key, value)
            repo.updated_at = self._store.tick()

    def rename(self, full_name: str, new_full_name: str) -> None:
        """Rename a repository; the old name then answers 301 to ``/repositories/{id}``."""
        self._store.rename(full_name, new_full_name)

    def head(self, full_name: str, branch: str | None = None) -> str:
        """The commit SHA at the tip of ``branch`` (default branch)."""
        with self._store.lock:
            repo = self._store.require(full_name)
            return repo.branches.get(branch or repo.default_branch, "")

    def tree_sha(self, full_name: str, path: str, *, ref: str | None = None) -> str:
        """The git SHA of ``path`` (a blob or a tree; '' is the root tree) at ``ref``."""
        with self._store.lock:
            repo = self._store.require(full_name)
            commit = repo.resolve(ref or repo.default_branch)
            if commit is None:
                raise KeyError(f"unknown ref {ref!r}")
            entry = repo.lookup(repo.commits[commit].tree, path.strip("/"))
            if entry is None:
                raise KeyError(f"no {path!r} at {ref or repo.default_branch}")
            return entry.sha

    def full_names(self) -> list[str]:
        """The repositories the fake holds, by their current names."""
        return self._store.full_names()

    def truncate_trees(self, full_name: str) -> None:
        """Make recursive trees of this repository answer ``truncated: true``, listing less."""
        with self._store.lock:
            self._store.require(full_name).truncated = True

    # -- tokens and GitHub Apps --------------------------------------------------------------

    @property
    def token(self) -> str:
        """The fake's own token: it reads every repository, private ones included."""
        return self._token

    @token.setter
    def token(self, value: str) -> None:
        self._token = value
        self._identities.set_own_token(value)

    def add_token(
        self,
        token: str,
        *,
        login: str,
        private: Iterable[str] | str = (),
        rate_limit: int = 5000,
    ) -> None:
        """A user's token: every public repository, and the private ones named (``"all"``:
        every one); its own quota of ``rate_limit`` requests (and GraphQL points) an hour."""
        self._identities.add_token(token, login=login, private=private, rate_limit=rate_limit)

    def revoke_token(self, token: str) -> None:
        """GitHub answers ``401 Bad credentials`` to the token from now on."""
        self._identities.revoke(token)

    def add_app(self, app_id: int, public_key_pem: str, *, slug: str, owner: str = "") -> None:
        """Register a GitHub App by the public half of its key (what GitHub keeps)."""
        self._apps.add_app(app_id, public_key_pem, slug=slug, owner=owner or slug)

    def install_app(
        self,
        app_id: int,
        account: str,
        *,
        repositories: Iterable[str] | None = None,
        rate_limit: int = 5000,
    ) -> int:
        """Install an App on ``account`` (every repository, or those named); its id."""
        installation = self._apps.install(
            app_id, account, repositories=repositories, rate_limit=rate_limit
        )
        return installation.id

    @property
    def app_token_lifetime(self) -> float:
        """Seconds an installation token lives (GitHub: an hour)."""
        return self._apps.token_lifetime

    @app_token_lifetime.setter
    def app_token_lifetime(self, seconds: float) -> None:
        self._apps.token_lifetime = seconds

    def minted_tokens(self) -> list[int]:
        """The installation of every installation token minted so far, in order."""
        return list(self._apps.minted)

    def revoke_installation_tokens(self, installation_id: int) -> int:
        """Revoke the installation's tokens (GitHub does so when a token is revoked early)."""
        return self._apps.revoke_tokens(installation_id)

    def remaining_for(self, token: str) -> int:
        """REST requests left in the token's own quota."""
        identity = self._identities.identify(f"Bearer {token}")
        assert identity is not None
        return identity.quota.remaining

    # -- rate limits -------------------------------------------------------------------------

    @property
    def rate_limit(self) -> int:
        """The REST (``core``) requests of a window."""
        return self._quota.rate_limit

    @property
    def rate_limit_reset(self) -> int:
        """When the current window ends (epoch seconds); every quota refills then."""
        return self._quota.reset

    @rate_limit_reset.setter
    def rate_limit_reset(self, value: int) -> None:
        self._quota.reset = value

    @property
    def rate_limit_remaining(self) -> int:
        """Requests left in the current window; set it to 0 to make GitHub refuse with 403."""
        return self._quota.remaining

    @rate_limit_remaining.setter
    def rate_limit_remaining(self, value: int) -> None:
        self._quota.remaining = max(0, value)

    @property
    def anonymous_remaining(self) -> int:
        """Requests left for callers without a token (GitHub: 60 an hour per address)."""
        return self._quota.anonymous_remaining

    @property
    def graphql_rate_limit(self) -> int:
        """The GraphQL points of a window."""
        return self._quota.graphql_rate_limit

    @property
    def graphql_remaining(self) -> int:
        """GraphQL points left in the current window; 0 makes GitHub refuse (RATE_LIMITED)."""
        return self._quota.graphql_remaining

    @graphql_remaining.setter
    def graphql_remaining(self, value: int) -> None:
        self._quota.graphql_remaining = max(0, value)

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
        self._faults.add_failure(
            path_regex, status=status, times=times, message=message, headers=headers
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
        self._faults.add_failure(
            path_regex,
            status=status,
            times=times,
            message=SECONDARY_LIMIT_MESSAGE,
            headers=headers,
            documentation_url=SECONDARY_LIMIT_DOCS_URL,
        )

    def delay(self, path_regex: str, seconds: float) -> None:
        """Hold answers to matching paths for ``seconds`` (to make a client time out)."""
        self._faults.add_delay(path_regex, seconds)

    def hold(self, path_regex: str) -> Hold:
        """Hold requests to matching paths until the returned gate's ``release()``.

        ``hold.wait_for(n, timeout)`` returns once ``n`` requests are held at once: proof of
        concurrency that does not depend on how fast the machine is.
        """
        return self._faults.add_hold(path_regex)

    def clear_faults(self) -> None:
        """Forget every :meth:`fail`, :meth:`delay` and :meth:`hold` rule."""
        self._faults.clear()

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
        """How many requests were answered, optionally of one endpoint kind and/or status.

        Kinds are those of :func:`fakegithub.endpoints.endpoint_kind` (``repo``, ``tree``,
        ``blob``, ``graphql``, ...).
        """
        return sum(
            1
            for record in self.requests
            if (kind is None or endpoint_kind(record.path) == kind)
            and (status is None or record.status == status)
        )

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

    # -- internals: HTTP ---------------------------------------------------------------------

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        with self._lock:
            self._in_flight_paths.append(request.path)
            self.peak_in_flight = max(self.peak_in_flight, len(self._in_flight_paths))
        try:
            response = self._handle(request)
        finally:
            with self._lock:
                self._in_flight_paths.remove(request.path)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        self._faults.pass_holds(request.path, self._stopping)
        wait = self.latency + self._faults.delay_for(request.path)
        if wait > 0:
            self._stopping.wait(wait)
        authorization = request.headers.get("Authorization", "")
        authorized = bool(self.token) and authorization in (
            f"Bearer {self.token}",
            f"token {self.token}",
        )
        if self._git.serves(request.path):
            response = self._git_answer(request, authorization)
            authorized = authorized or self._carries_own_token(authorization)
        elif request.path in GRAPHQL_PATHS:
            response = serve_graphql(
                self._graphql,
                request,
                authorization=authorization,
                timeout=self.graphql_timeout,
            )
        else:
            response = self._rest_answer(request, authorization)
        self._record(request, response, authorized)
        return response

    def _git_answer(self, request: Request, authorization: str) -> Response:
        """Git's smart HTTP; injected failures apply, rate limits do not (git has none)."""
        try:
            self._faults.raise_injected(request.path)
        except GitHubFailure as failure:
            response = error_response(failure)
            response.headers.update(failure.headers)
            return response
        return self._git.answer(request, authorization)

    def _carries_own_token(self, authorization: str) -> bool:
        try:
            return bool(self.token) and credential_token(authorization) == self.token
        except GitHubFailure:
            return False

    def _rest_answer(self, request: Request, authorization: str) -> Response:
        """A REST answer with GitHub's rate-limit headers, billed to the caller's quota."""
        overrides: dict[str, str] = {}
        # Until the caller is known, an answer counts as one without a token would.
        bill = Bill(self._quota, identified=not self.token)
        try:
            response = self._rest_route(request, authorization, bill)
        except GitHubFailure as failure:
            overrides = failure.headers
            response = error_response(failure)
        response = conditional(request, response)
        # /rate_limit is free, and so is a 304, but only for a request made with a token:
        # GitHub bills an unauthenticated 304 like any other answer.
        resource = rate_limit_resource(request.path)
        with_token = bill.identified and bool(authorization)
        billed = resource is not None and (response.status_code != 304 or not with_token)
        figures = bill.quota.bill_rest(identified=bill.identified, billed=billed)
        response.headers.update(
            {
                "X-GitHub-Api-Version-Selected": API_VERSION,
                "X-GitHub-Request-Id": secrets.token_hex(8).upper(),
                "X-RateLimit-Limit": str(figures.limit),
                "X-RateLimit-Remaining": str(figures.remaining),
                "X-RateLimit-Used": str(figures.limit - figures.remaining),
                "X-RateLimit-Reset": str(figures.reset),
                "X-RateLimit-Resource": "core",  # the only REST resource the fake serves
                "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
            }
        )
        response.headers.update(overrides)
        return response

    def _rest_route(self, request: Request, authorization: str, bill: Bill) -> Response:
        if self._accounts.serves(request.path):
            self._faults.raise_injected(request.path)
            answered = self._accounts.route(request, authorization)
            if answered.quota is not None:
                bill.quota, bill.identified = answered.quota, True
            return answered.response
        if request.method not in ("GET", "HEAD"):
            raise GitHubFailure(404)
        identity = self._identities.identify(authorization)
        if identity is not None:
            bill.quota, bill.identified = identity.quota, True
        if request.path == RATE_LIMIT_PATH:
            return json_response(bill.quota.rate_limit_body())
        bill.quota.check_rest(identified=bill.identified, authorized=identity is not None)
        self._faults.raise_injected(request.path)
        return self._rest.route(request, identity.can_read if identity else anyone_can_read)

    def _record(self, request: Request, response: Response, authorized: bool) -> None:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query=dict(request.args.items()),
            status=response.status_code,
            headers={key.lower(): value for key, value in request.headers.items()},
            authorized=authorized,
            # Only GraphQL's POSTs carry a body worth keeping (the query).
            body=request.get_data()
            if request.method == "POST" and request.path in GRAPHQL_PATHS
            else b"",
        )
        with self._lock:
            self._records.append(record)
