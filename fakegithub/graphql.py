"""The fake's GraphQL endpoint: GitHub's published schema, executed over the same git store.

Every incoming query is parsed and validated against GitHub's own schema (the
`@octokit/graphql-schema` npm package, installed by `make graphql-schema`) with graphql-core, then
executed by resolvers that read the repositories the REST side serves. Answers take GitHub's
shapes: `data` with `null` for what is missing plus an `errors` entry
`{"type": "NOT_FOUND", "path": [...], "locations": [...], "message": ...}`, validation errors
with `extensions.code`, `MAX_NODE_LIMIT_EXCEEDED` for queries over the node limit, and
`rateLimit { cost remaining resetAt }`.

GitHub's server time grows with what a query resolves; the fake charges `cost_per_item` seconds
(2 ms by default) per resolved repository, ref, git object and blob text on top of the request's
latency, and answers 502 like GitHub when that passes `timeout` (10 s), so that batch sizes are
chosen against a realistic cost.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute,
    parse,
    validate,
)
from graphql.language import FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode

from .history import HistoryResolvers
from .store import _LICENSES, JSON_TYPE, _Repo

if TYPE_CHECKING:
    from .server import FakeGitHub

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PACKAGE = Path("var/graphql-schema/node_modules/@octokit/graphql-schema")
GRAPHQL_DOCS_URL = "https://docs.github.com/graphql"
AUTH_DOCS_URL = (
    "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
)
NODE_LIMIT = 500_000
# git's own test for binary content: a NUL byte in the first 8,000 bytes.
_BINARY_PROBE = 8000
_TREE_MODE, _LINK_MODE = 0o040000, 0o120000


def schema_path() -> Path:
    """Where GitHub's schema was installed (`GITHUB_GRAPHQL_SCHEMA` overrides)."""
    configured = os.environ.get("GITHUB_GRAPHQL_SCHEMA")
    if configured:
        return Path(configured)
    return ROOT / SCHEMA_PACKAGE / "schema.graphql"


_schema_lock = threading.Lock()


def github_schema() -> GraphQLSchema:
    """GitHub's published GraphQL schema, built once per process (thread-safe)."""
    with _schema_lock:
        return _build_schema()


@lru_cache(maxsize=1)
def _build_schema() -> GraphQLSchema:
    """GitHub's published GraphQL schema, built once per process.

    GitHub's SDL breaks a few of graphql-js's schema rules (duplicate field definitions,
    deprecated interface fields), so it is built with `assume_valid_sdl` and the schema
    self-check is marked done: validating queries against it works as usual.
    """
    path = schema_path()
    if not path.exists():
        raise RuntimeError(
            f"GitHub's GraphQL schema is not installed at {path}; run `make graphql-schema`"
        )
    schema = build_schema(path.read_text(encoding="utf-8"), assume_valid_sdl=True)
    # graphql-core caches the result of its schema check here; an empty list means "valid".
    schema._validation_errors = []  # type: ignore[attr-defined]
    return schema


def validate_query(query: str) -> list[GraphQLError]:
    """The errors graphql-core finds in `query` against GitHub's schema (none when valid)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return [error]
    return list(validate(github_schema(), document))


# -- the objects the resolvers hand each other ---------------------------------------------------


@dataclass(frozen=True)
class _Git:
    repo: _Repo
    oid: str
    kind: str  # Commit, Tree, Blob, Tag


@dataclass(frozen=True)
class _Ref:
    repo: _Repo
    name: str
    prefix: str
    target: str


@dataclass(frozen=True)
class _TreeItem:
    repo: _Repo
    path: str
    name: str
    mode: str
    oid: str


@dataclass
class _Context:
    """Per request: what the resolvers charged, and the quota figures `rateLimit` reports."""

    items: int = 0
    cost: int = 1
    nodes: int = 0
    limit: int = 5000
    remaining: int = 5000
    used: int = 0
    reset_at: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def charge(self, count: int = 1) -> None:
        with self.lock:
            self.items += count


# -- node count and cost (GitHub's published formulas) --------------------------------------------


def _connection_figures(document: Any) -> tuple[int, int]:
    """(nodes, connection requests) of a query, as GitHub's rate-limit docs count them.

    Every field with a `first`/`last` argument is a connection: it may return that many nodes,
    and each of them multiplies what is asked below it.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    nodes = requests = 0

    def size(node: FieldNode) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = getattr(argument.value, "value", None)
                try:
                    return int(value) if value is not None else 100
                except (TypeError, ValueError):
                    return 100
        return None

    def walk(selection_set: Any, multiplier: int, seen: frozenset[str]) -> None:
        nonlocal nodes, requests
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                first = size(selection)
                if first is None:
                    walk(selection.selection_set, multiplier, seen)
                else:
                    requests += multiplier
                    nodes += multiplier * first
                    walk(selection.selection_set, multiplier * first, seen)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    walk(fragments[name].selection_set, multiplier, seen | {name})

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, 1, frozenset())
    return nodes, requests


# -- resolvers ------------------------------------------------------------------------------------


class _Resolvers(HistoryResolvers):
    """Field resolution over the fake's git store; charges server time as it goes."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake

    def resolve(self, source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        parent = info.parent_type.name
        name = info.field_name
        method: Callable[..., Any] | None = getattr(self, f"_{parent}_{name}", None)
        if method is not None:
            return method(source, info, **args)
        if isinstance(source, dict):
            return source.get(name)
        if name == "abbreviatedOid" and isinstance(source, _Git):
            return source.oid[:7]
        # Plain attributes of the store's objects: oid, name, path.
        return getattr(source, name, None)

    @staticmethod
    def resolve_type(value: Any, info: GraphQLResolveInfo, abstract: Any) -> str | None:
        if isinstance(value, _Git):
            return value.kind
        if isinstance(value, _Repo):
            return "Organization" if value.owner_type == "Organization" else "User"
        if isinstance(value, dict) and "__typename" in value:
            return str(value["__typename"])
        return None

    @staticmethod
    def _ctx(info: GraphQLResolveInfo) -> _Context:
        context: _Context = info.context
        return context

    # Query
    def _Query_repository(
        self, source: Any, info: GraphQLResolveInfo, owner: str, name: str, **_: Any
    ) -> _Repo:
        self._ctx(info).charge()
        with self.fake._lock:
            key = f"{owner}/{name}".lower()
            repo = self.fake._repos.get(key)
            if repo is None and key in self.fake._moved:
                # GitHub's GraphQL API follows a rename to the repository's new name.
                repo = next(
                    (r for r in self.fake._repos.values() if r.id == self.fake._moved[key]), None
                )
        if repo is None:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                extensions={"type": "NOT_FOUND"},
            )
        return repo

    def _Query_rateLimit(self, source: Any, info: GraphQLResolveInfo, **_: Any) -> dict[str, Any]:
        ctx = self._ctx(info)
        return {
            "cost": ctx.cost,
            "limit": ctx.limit,
            "nodeCount": ctx.nodes,
            "remaining": ctx.remaining,
            "used": ctx.used,
            "resetAt": datetime.fromtimestamp(ctx.reset_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    # Repository
    def _Repository_name(self, repo: _Repo, info: GraphQLResolveInfo) -> str:
        return repo.name

    def _Repository_nameWithOwner(self, repo: _Repo, info: GraphQLResolveInfo) -> str:
        return repo.full_name

    def _Repository_owner(self, repo: _Repo, info: GraphQLResolveInfo) -> _Repo:
        return repo

    def _Repository_isPrivate(self, repo: _Repo, info: GraphQLResolveInfo) -> bool:
        return repo.private

    def _Repository_isArchived(self, repo: _Repo, info: GraphQLResolveInfo) -> bool:
        return repo.archived

    def _Repository_description(self, repo: _Repo, info: GraphQLResolveInfo) -> str | None:
        return repo.description

    def _Repository_licenseInfo(
        self, repo: _Repo, info: GraphQLResolveInfo
    ) -> dict[str, Any] | None:
        if not repo.license_spdx:
            return None
        key, name = _LICENSES.get(repo.license_spdx, (repo.license_spdx.lower(), repo.license_spdx))
        return {"spdxId": repo.license_spdx, "key": key, "name": name, "nickname": None}

    def _Repository_repositoryTopics(
        self, repo: _Repo, info: GraphQLResolveInfo, first: int | None = None, **_: Any
    ) -> dict[str, Any]:
        topics = list(repo.topics)[: first or None]
        nodes = [{"topic": {"name": topic}, "url": ""} for topic in topics]
        return {"nodes": nodes, "totalCount": len(repo.topics)}

    def _Repository_defaultBranchRef(self, repo: _Repo, info: GraphQLResolveInfo) -> _Ref | None:
        self._ctx(info).charge()
        sha = repo.branches.get(repo.default_branch)
        return _Ref(repo, repo.default_branch, "refs/heads/", sha) if sha else None

    def _Repository_ref(
        self, repo: _Repo, info: GraphQLResolveInfo, qualifiedName: str
    ) -> _Ref | None:
        self._ctx(info).charge()
        name = qualifiedName.removeprefix("refs/")
        for prefix, table in (("heads/", repo.branches), ("tags/", repo.tags)):
            if qualifiedName.startswith("refs/") and not name.startswith(prefix):
                continue
            short = name.removeprefix(prefix)
            if short in table:
                return _Ref(repo, short, f"refs/{prefix}", table[short])
        return None

    def _Repository_object(
        self,
        repo: _Repo,
        info: GraphQLResolveInfo,
        expression: str | None = None,
        oid: str | None = None,
    ) -> _Git | None:
        self._ctx(info).charge()
        if oid is not None:
            return _git_object(repo, oid)
        if expression is None:
            return None
        revision, colon, path = expression.partition(":")
        commit = repo.resolve(revision) if revision else None
        if commit is None:
            return None
        if not colon:
            return _Git(repo, commit, "Commit")
        entry = repo.lookup(repo.commits[commit].tree, path.strip("/"))
        if entry is None:
            return None
        if entry.is_tree:
            return _Git(repo, entry.sha, "Tree")
        return _Git(repo, entry.sha, "Blob")

    # Owners
    def _User_login(self, repo: _Repo, info: GraphQLResolveInfo) -> str:
        return repo.owner

    _Organization_login = _User_login

    # Refs and git objects
    def _Ref_name(self, ref: _Ref, info: GraphQLResolveInfo) -> str:
        return ref.name

    def _Ref_prefix(self, ref: _Ref, info: GraphQLResolveInfo) -> str:
        return ref.prefix

    def _Ref_target(self, ref: _Ref, info: GraphQLResolveInfo) -> _Git | None:
        self._ctx(info).charge()
        return _git_object(ref.repo, ref.target)

    def _Tag_target(self, tag: _Git, info: GraphQLResolveInfo) -> _Git | None:
        self._ctx(info).charge()
        return _git_object(tag.repo, tag.repo.tag_objects[tag.oid].target)

    def _Tag_name(self, tag: _Git, info: GraphQLResolveInfo) -> str:
        return tag.repo.tag_objects[tag.oid].name

    def _Commit_tree(self, commit: _Git, info: GraphQLResolveInfo) -> _Git:
        self._ctx(info).charge()
        return _Git(commit.repo, commit.repo.commits[commit.oid].tree, "Tree")

    def _Tree_entries(self, tree: _Git, info: GraphQLResolveInfo) -> list[_TreeItem]:
        return [
            _TreeItem(tree.repo, entry.name, entry.name, entry.mode, entry.sha)
            for entry in tree.repo.trees[tree.oid]
        ]

    def _TreeEntry_mode(self, item: _TreeItem, info: GraphQLResolveInfo) -> int:
        return int(item.mode, 8)

    def _TreeEntry_type(self, item: _TreeItem, info: GraphQLResolveInfo) -> str:
        mode = int(item.mode, 8)
        return "tree" if mode == _TREE_MODE else "commit" if mode == 0o160000 else "blob"

    def _TreeEntry_size(self, item: _TreeItem, info: GraphQLResolveInfo) -> int:
        data = item.repo.blobs.get(item.oid)
        return len(data) if data is not None else 0

    def _TreeEntry_object(self, item: _TreeItem, info: GraphQLResolveInfo) -> _Git | None:
        self._ctx(info).charge()
        return _git_object(item.repo, item.oid)

    def _Blob_byteSize(self, blob: _Git, info: GraphQLResolveInfo) -> int:
        return len(blob.repo.blobs[blob.oid])

    def _Blob_isBinary(self, blob: _Git, info: GraphQLResolveInfo) -> bool:
        return b"\x00" in blob.repo.blobs[blob.oid][:_BINARY_PROBE]

    def _Blob_isTruncated(self, blob: _Git, info: GraphQLResolveInfo) -> bool:
        return False

    def _Blob_text(self, blob: _Git, info: GraphQLResolveInfo) -> str | None:
        self._ctx(info).charge()
        data = blob.repo.blobs[blob.oid]
        if b"\x00" in data[:_BINARY_PROBE]:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None


def _git_object(repo: _Repo, oid: str) -> _Git | None:
    if oid in repo.commits:
        return _Git(repo, oid, "Commit")
    if oid in repo.tag_objects:
        return _Git(repo, oid, "Tag")
    if oid in repo.trees:
        return _Git(repo, oid, "Tree")
    if oid in repo.blobs:
        return _Git(repo, oid, "Blob")
    return None


# -- the endpoint ---------------------------------------------------------------------------------


@dataclass
class GraphQLAnswer:
    status: int
    body: dict[str, Any]
    server_time: float = 0.0
    cost: int = 0


class GraphQLEndpoint:
    """Answers `POST /graphql` for a FakeGitHub; the server adds latency, headers and billing."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.resolvers = _Resolvers(fake)
        self._lock = threading.Lock()
        self._documents: dict[str, tuple[Any, list[dict[str, Any]], tuple[int, int]]] = {}

    def _checked(self, query: str) -> tuple[Any, list[dict[str, Any]], tuple[int, int]]:
        """The parsed query, its errors in GitHub's shape, and its (nodes, connection requests).

        A client sends the same query text again and again with other variables (a batch of
        the same shape), so the parse and the validation against the 1 MB schema are kept
        per text: a real server's CPU time is what `cost_per_item` stands for, not the fake's.
        """
        with self._lock:
            known = self._documents.get(query)
        if known is not None:
            return known
        try:
            document = parse(query)
        except GraphQLError as error:
            checked: tuple[Any, list[dict[str, Any]], tuple[int, int]] = (
                None,
                [_parse_error(error)],
                (0, 0),
            )
        else:
            errors = [_validation_error(e) for e in validate(github_schema(), document)]
            checked = (document, errors, (0, 0) if errors else _connection_figures(document))
        with self._lock:
            if len(self._documents) >= 256:
                self._documents.clear()
            self._documents[query] = checked
        return checked

    def answer(self, raw_body: bytes, *, quota: _Context) -> GraphQLAnswer:
        try:
            payload = json.loads(raw_body or b"null")
        except ValueError:
            return GraphQLAnswer(
                400, {"message": "Problems parsing JSON", "documentation_url": GRAPHQL_DOCS_URL}
            )
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return GraphQLAnswer(
                200,
                {
                    "errors": [
                        {"message": "A query attribute must be specified and must be a string."}
                    ]
                },
            )
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return GraphQLAnswer(200, {"errors": [{"message": "Variables are invalid JSON."}]})
        document, errors, (nodes, connection_requests) = self._checked(payload["query"])
        if errors:
            return GraphQLAnswer(200, {"errors": errors})
        if nodes > self.fake.graphql_node_limit:
            return GraphQLAnswer(
                200,
                {
                    "errors": [
                        {
                            "type": "MAX_NODE_LIMIT_EXCEEDED",
                            "message": f"This query requests up to {nodes:,} nodes which exceeds "
                            f"the maximum limit of {self.fake.graphql_node_limit:,}.",
                        }
                    ]
                },
            )
        quota.nodes = nodes
        quota.cost = max(1, round(connection_requests / 100))
        quota.remaining = max(0, quota.remaining - quota.cost)
        quota.used += quota.cost
        result = execute(
            github_schema(),
            document,
            # Every resolver is synchronous; checking each value for an awaitable costs a third
            # of the execution time.
            is_awaitable=lambda value: False,
            variable_values=variables,
            operation_name=payload.get("operationName"),
            context_value=quota,
            field_resolver=self.resolvers.resolve,
            type_resolver=self.resolvers.resolve_type,
        )
        if hasattr(result, "__await__"):  # pragma: no cover - no resolver is async
            raise RuntimeError("async resolution is not supported")
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [_execution_error(e) for e in result.errors]
        body["data"] = result.data
        server_time = quota.items * self.fake.graphql_cost_per_item
        return GraphQLAnswer(200, body, server_time=server_time, cost=quota.cost)


def _locations(error: GraphQLError) -> list[dict[str, int]]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or ()]


def _parse_error(error: GraphQLError) -> dict[str, Any]:
    return {"message": error.message, "locations": _locations(error)}


def _validation_error(error: GraphQLError) -> dict[str, Any]:
    # GitHub names the broken rule in `extensions.code` (e.g. undefinedField) and says where.
    return {
        "path": ["query"],
        "extensions": {"code": "invalidQuery"},
        "locations": _locations(error),
        "message": error.message,
    }


def _execution_error(error: GraphQLError) -> dict[str, Any]:
    extensions = dict(error.extensions or {})
    out: dict[str, Any] = {}
    if "type" in extensions:
        out["type"] = extensions.pop("type")
    out["path"] = list(error.path or [])
    if extensions:
        out["extensions"] = extensions
    out["locations"] = _locations(error)
    out["message"] = error.message
    return out


def serve_graphql(fake: FakeGitHub, request: Any, *, authorization: str, authorized: bool) -> Any:
    """One `POST /graphql` as GitHub answers it: auth, quota, validation, execution, timing."""
    from werkzeug.wrappers import Response

    from .server import _Fail

    def reply(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        response = Response(json.dumps(body), status=status, content_type=JSON_TYPE)
        response.headers.update(headers or {})
        return response

    if request.method != "POST":
        return reply(404, {"message": "Not Found", "documentation_url": GRAPHQL_DOCS_URL})
    if not authorization:
        # GitHub's GraphQL API has no anonymous access.
        message = "This endpoint requires you to be authenticated."
        return reply(401, {"message": message, "documentation_url": AUTH_DOCS_URL})
    if not authorized:
        return reply(401, {"message": "Bad credentials", "documentation_url": GRAPHQL_DOCS_URL})
    try:
        fake._injected_failure(request.path)
    except _Fail as failure:
        body = {"message": failure.message, "documentation_url": GRAPHQL_DOCS_URL}
        return reply(failure.status, body, {**fake._graphql_headers(), **failure.headers})

    if not schema_path().exists():
        # Without GitHub's schema nothing can be validated; a client falls back to REST.
        message = "GraphQL is not available: GitHub's schema is not installed (make graphql-schema)"
        return reply(503, {"message": message, "documentation_url": GRAPHQL_DOCS_URL})
    quota = fake._graphql_quota()
    if quota.remaining <= 0:
        body = {
            "errors": [
                {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}
            ]
        }
        return reply(200, body, fake._graphql_headers())
    started = time.perf_counter()
    answer = fake._graphql_endpoint.answer(request.get_data(), quota=quota)
    # The fake's own parsing and resolving is part of the modelled server time, not extra.
    spent = time.perf_counter() - started
    if answer.server_time > fake.graphql_timeout:
        # GitHub stops a query after its time budget and answers 502 without data.
        fake._stopping.wait(fake.graphql_timeout)
        body = {
            "data": None,
            "errors": [
                {
                    "message": "Something went wrong while executing your query. This may be "
                    "the result of a timeout, or it could be a GitHub bug."
                }
            ],
        }
        return reply(502, body, fake._graphql_headers())
    if answer.server_time > spent:
        fake._stopping.wait(answer.server_time - spent)
    fake._charge_graphql(answer.cost)
    return reply(answer.status, answer.body, fake._graphql_headers())
