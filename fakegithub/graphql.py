"""The fake's GraphQL endpoint: GitHub's published schema, executed over the same git store.

Every incoming query is parsed and validated against GitHub's own schema (`graphql_schema`), then
executed by resolvers that read the repositories the REST side serves. Answers take GitHub's
shapes: `data` with `null` for what is missing plus an `errors` entry
`{"type": "NOT_FOUND", "path": [...], "locations": [...], "message": ...}`, validation errors
(a field GitHub does not have, a wrong argument) as a 200 with `errors` and no `data`, with
`extensions.code`, `MAX_NODE_LIMIT_EXCEEDED` for queries over the node limit, and
`rateLimit { cost remaining resetAt }`.

GitHub's server time grows with what a query resolves; the fake charges `cost_per_item` seconds
(2 ms by default) per resolved repository, ref, git object and blob text on top of the request's
latency, and answers 502 like GitHub when that passes `timeout` (10 s), so that batch sizes are
chosen against a realistic cost.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from graphql import DocumentNode, GraphQLError, GraphQLResolveInfo, execute, parse, validate

from .errors import GRAPHQL_DOCS_URL
from .graphql_schema import connection_figures, github_schema
from .history import HistoryResolvers
from .json_types import JSON, JSONObject
from .quota import QueryBudget
from .store import LICENSES, Repo, RepoStore

# git's own test for binary content: a NUL byte in the first 8,000 bytes.
_BINARY_PROBE = 8000
_TREE_MODE = 0o040000

# A query text once parsed: its document, its errors in GitHub's shape, (nodes, connections).
type _Checked = tuple[DocumentNode | None, list[JSONObject], tuple[int, int]]

# -- the objects the resolvers hand each other ---------------------------------------------------


@dataclass(frozen=True)
class GitObject:
    repo: Repo
    oid: str
    kind: str  # Commit, Tree, Blob, Tag


@dataclass(frozen=True)
class RefTarget:
    repo: Repo
    name: str
    prefix: str
    target: str


@dataclass(frozen=True)
class TreeItem:
    repo: Repo
    path: str
    name: str
    mode: str
    oid: str


# -- resolvers ------------------------------------------------------------------------------------


class _Resolvers(HistoryResolvers):
    """Field resolution over the fake's git store; charges server time as it goes."""

    def __init__(self, store: RepoStore) -> None:
        self.store = store

    def resolve(self, source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        parent = info.parent_type.name
        name = info.field_name
        method: Callable[..., Any] | None = getattr(self, f"_{parent}_{name}", None)
        if method is not None:
            return method(source, info, **args)
        if isinstance(source, dict):
            return source.get(name)
        if name == "abbreviatedOid" and isinstance(source, GitObject):
            return source.oid[:7]
        # Plain attributes of the store's objects: oid, name, path.
        return getattr(source, name, None)

    @staticmethod
    def resolve_type(value: Any, info: GraphQLResolveInfo, abstract: Any) -> str | None:
        if isinstance(value, GitObject):
            return value.kind
        if isinstance(value, Repo):
            return "Organization" if value.owner_type == "Organization" else "User"
        if isinstance(value, dict) and "__typename" in value:
            return str(value["__typename"])
        return None

    @staticmethod
    def _ctx(info: GraphQLResolveInfo) -> QueryBudget:
        context: QueryBudget = info.context
        return context

    # Query
    def _Query_repository(
        self, source: Any, info: GraphQLResolveInfo, owner: str, name: str, **_: Any
    ) -> Repo:
        self._ctx(info).charge()
        full_name = f"{owner}/{name}"
        with self.store.lock:
            repo = self.store.get(full_name)
            moved = self.store.moved_id(full_name)
            if repo is None and moved is not None:
                # GitHub's GraphQL API follows a rename to the repository's new name.
                repo = self.store.by_id(moved)
        if repo is None or not self._ctx(info).can_read(repo):
            # A private repository the token may not read is as absent as a missing one.
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                extensions={"type": "NOT_FOUND"},
            )
        return repo

    def _Query_rateLimit(self, source: Any, info: GraphQLResolveInfo, **_: Any) -> JSONObject:
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
    def _Repository_name(self, repo: Repo, info: GraphQLResolveInfo) -> str:
        return repo.name

    def _Repository_nameWithOwner(self, repo: Repo, info: GraphQLResolveInfo) -> str:
        return repo.full_name

    def _Repository_owner(self, repo: Repo, info: GraphQLResolveInfo) -> Repo:
        return repo

    def _Repository_isPrivate(self, repo: Repo, info: GraphQLResolveInfo) -> bool:
        return repo.private

    def _Repository_isArchived(self, repo: Repo, info: GraphQLResolveInfo) -> bool:
        return repo.archived

    def _Repository_description(self, repo: Repo, info: GraphQLResolveInfo) -> str | None:
        return repo.description

    def _Repository_licenseInfo(self, repo: Repo, info: GraphQLResolveInfo) -> JSONObject | None:
        if not repo.license_spdx:
            return None
        key, name = LICENSES.get(repo.license_spdx, (repo.license_spdx.lower(), repo.license_spdx))
        return {"spdxId": repo.license_spdx, "key": key, "name": name, "nickname": None}

    def _Repository_repositoryTopics(
        self, repo: Repo, info: GraphQLResolveInfo, first: int | None = None, **_: Any
    ) -> JSONObject:
        topics = list(repo.topics)[: first or None]
        nodes: list[JSON] = [{"topic": {"name": topic}, "url": ""} for topic in topics]
        return {"nodes": nodes, "totalCount": len(repo.topics)}

    def _Repository_defaultBranchRef(
        self, repo: Repo, info: GraphQLResolveInfo
    ) -> RefTarget | None:
        self._ctx(info).charge()
        sha = repo.branches.get(repo.default_branch)
        return RefTarget(repo, repo.default_branch, "refs/heads/", sha) if sha else None

    def _Repository_ref(
        self, repo: Repo, info: GraphQLResolveInfo, qualifiedName: str
    ) -> RefTarget | None:
        self._ctx(info).charge()
        name = qualifiedName.removeprefix("refs/")
        for prefix, table in (("heads/", repo.branches), ("tags/", repo.tags)):
            if qualifiedName.startswith("refs/") and not name.startswith(prefix):
                continue
            short = name.removeprefix(prefix)
            if short in table:
                return RefTarget(repo, short, f"refs/{prefix}", table[short])
        return None

    def _Repository_object(
        self,
        repo: Repo,
        info: GraphQLResolveInfo,
        expression: str | None = None,
        oid: str | None = None,
    ) -> GitObject | None:
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
            return GitObject(repo, commit, "Commit")
        entry = repo.lookup(repo.commits[commit].tree, path.strip("/"))
        if entry is None:
            return None
        if entry.is_tree:
            return GitObject(repo, entry.sha, "Tree")
        return GitObject(repo, entry.sha, "Blob")

    # Owners
    def _User_login(self, repo: Repo, info: GraphQLResolveInfo) -> str:
        return repo.owner

    _Organization_login = _User_login

    # Refs and git objects
    def _Ref_name(self, ref: RefTarget, info: GraphQLResolveInfo) -> str:
        return ref.name

    def _Ref_prefix(self, ref: RefTarget, info: GraphQLResolveInfo) -> str:
        return ref.prefix

    def _Ref_target(self, ref: RefTarget, info: GraphQLResolveInfo) -> GitObject | None:
        self._ctx(info).charge()
        return _git_object(ref.repo, ref.target)

    def _Tag_target(self, tag: GitObject, info: GraphQLResolveInfo) -> GitObject | None:
        self._ctx(info).charge()
        return _git_object(tag.repo, tag.repo.tag_objects[tag.oid].target)

    def _Tag_name(self, tag: GitObject, info: GraphQLResolveInfo) -> str:
        return tag.repo.tag_objects[tag.oid].name

    def _Commit_tree(self, commit: GitObject, info: GraphQLResolveInfo) -> GitObject:
        self._ctx(info).charge()
        return GitObject(commit.repo, commit.repo.commits[commit.oid].tree, "Tree")

    def _Tree_entries(self, tree: GitObject, info: GraphQLResolveInfo) -> list[TreeItem]:
        return [
            TreeItem(tree.repo, entry.name, entry.name, entry.mode, entry.sha)
            for entry in tree.repo.trees[tree.oid]
        ]

    def _TreeEntry_mode(self, item: TreeItem, info: GraphQLResolveInfo) -> int:
        return int(item.mode, 8)

    def _TreeEntry_type(self, item: TreeItem, info: GraphQLResolveInfo) -> str:
        mode = int(item.mode, 8)
        return "tree" if mode == _TREE_MODE else "commit" if mode == 0o160000 else "blob"

    def _TreeEntry_size(self, item: TreeItem, info: GraphQLResolveInfo) -> int:
        data = item.repo.blobs.get(item.oid)
        return len(data) if data is not None else 0

    def _TreeEntry_object(self, item: TreeItem, info: GraphQLResolveInfo) -> GitObject | None:
        self._ctx(info).charge()
        return _git_object(item.repo, item.oid)

    def _Blob_byteSize(self, blob: GitObject, info: GraphQLResolveInfo) -> int:
        return len(blob.repo.blobs[blob.oid])

    def _Blob_isBinary(self, blob: GitObject, info: GraphQLResolveInfo) -> bool:
        return b"\x00" in blob.repo.blobs[blob.oid][:_BINARY_PROBE]

    def _Blob_isTruncated(self, blob: GitObject, info: GraphQLResolveInfo) -> bool:
        return False

    def _Blob_text(self, blob: GitObject, info: GraphQLResolveInfo) -> str | None:
        self._ctx(info).charge()
        data = blob.repo.blobs[blob.oid]
        if b"\x00" in data[:_BINARY_PROBE]:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None


def _git_object(repo: Repo, oid: str) -> GitObject | None:
    if oid in repo.commits:
        return GitObject(repo, oid, "Commit")
    if oid in repo.tag_objects:
        return GitObject(repo, oid, "Tag")
    if oid in repo.trees:
        return GitObject(repo, oid, "Tree")
    if oid in repo.blobs:
        return GitObject(repo, oid, "Blob")
    return None


# -- the endpoint ---------------------------------------------------------------------------------


@dataclass
class GraphQLAnswer:
    """A GraphQL answer before HTTP: status, body, the server time it models, its cost."""

    status: int
    body: JSONObject
    server_time: float = 0.0
    cost: int = 0


class GraphQLLimits(Protocol):
    """The figures a test may change while the fake serves: GitHub's node limit, server time."""

    graphql_node_limit: int
    graphql_cost_per_item: float


class GraphQLEndpoint:
    """Answers the body of a `POST /graphql`; the HTTP side adds auth, headers and billing."""

    def __init__(self, store: RepoStore, limits: GraphQLLimits) -> None:
        self.limits = limits
        self.resolvers = _Resolvers(store)
        self._lock = threading.Lock()
        self._documents: dict[str, _Checked] = {}

    def _checked(self, query: str) -> _Checked:
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
            checked: _Checked = (
                None,
                [_parse_error(error)],
                (0, 0),
            )
        else:
            errors = [_validation_error(e) for e in validate(github_schema(), document)]
            checked = (document, errors, (0, 0) if errors else connection_figures(document))
        with self._lock:
            if len(self._documents) >= 256:
                self._documents.clear()
            self._documents[query] = checked
        return checked

    def answer(self, raw_body: bytes, *, quota: QueryBudget) -> GraphQLAnswer:
        """The answer to one request body, charging ``quota`` as GitHub charges points."""
        payload = _read_payload(raw_body)
        if isinstance(payload, GraphQLAnswer):
            return payload
        variables = payload.get("variables") or {}
        assert isinstance(variables, dict)
        document, errors, (nodes, connection_requests) = self._checked(payload["query"])
        if errors or document is None:
            # GitHub refuses a query that does not validate against its schema whole: a 200
            # whose body has `errors` and no `data`.
            return GraphQLAnswer(200, {"errors": list(errors)})
        if nodes > self.limits.graphql_node_limit:
            return GraphQLAnswer(
                200,
                {
                    "errors": [
                        {
                            "type": "MAX_NODE_LIMIT_EXCEEDED",
                            "message": f"This query requests up to {nodes:,} nodes which exceeds "
                            f"the maximum limit of {self.limits.graphql_node_limit:,}.",
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
        body: JSONObject = {}
        if result.errors:
            body["errors"] = [_execution_error(e) for e in result.errors]
        body["data"] = result.data
        server_time = quota.items * self.limits.graphql_cost_per_item
        return GraphQLAnswer(200, body, server_time=server_time, cost=quota.cost)


def _read_payload(raw_body: bytes) -> dict[str, Any] | GraphQLAnswer:
    """The request's JSON object, or GitHub's answer to a body that is not one."""
    try:
        payload = json.loads(raw_body or b"null")
    except ValueError:
        return GraphQLAnswer(
            400, {"message": "Problems parsing JSON", "documentation_url": GRAPHQL_DOCS_URL}
        )
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        message = "A query attribute must be specified and must be a string."
        return GraphQLAnswer(200, {"errors": [{"message": message}]})
    if not isinstance(payload.get("variables") or {}, dict):
        return GraphQLAnswer(200, {"errors": [{"message": "Variables are invalid JSON."}]})
    return payload


def _locations(error: GraphQLError) -> list[dict[str, int]]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or ()]


def _parse_error(error: GraphQLError) -> JSONObject:
    return {"message": error.message, "locations": _locations(error)}


def _validation_error(error: GraphQLError) -> JSONObject:
    # GitHub names the broken rule in `extensions.code` (e.g. undefinedField) and says where.
    return {
        "path": ["query"],
        "extensions": {"code": "invalidQuery"},
        "locations": _locations(error),
        "message": error.message,
    }


def _execution_error(error: GraphQLError) -> JSONObject:
    extensions = dict(error.extensions or {})
    out: JSONObject = {}
    if "type" in extensions:
        out["type"] = extensions.pop("type")
    out["path"] = list(error.path or [])
    if extensions:
        out["extensions"] = extensions
    out["locations"] = _locations(error)
    out["message"] = error.message
    return out
