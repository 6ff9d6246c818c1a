"""Reviewing an update through GitHub's GraphQL API: files, committer dates, history (SPEC 17).

Files come from directory listings (`object(expression: "<commit>:<dir>")`, one level each),
asked for the artifact's directory at both commits and then only for subdirectories whose tree
oid differs between them: an unchanged subdirectory holds no changed file, so the listings of a
skill whose SKILL.md alone changed are two objects. The read plan's listings come first: they
hold a directory artifact's directory and, listed with the texts, its subdirectories one level
down, so most reviews ask for no listing at all. Listings are kept in the HTTP cache for good
(a commit's directory never changes). Dates are the commits' `committedDate`; a history is the
head's `history(path:, first:)`. Queries are batched and sent in parallel; a batch that fails
leaves its asks unknown.
"""

import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, cast

from refresher.json_types import JSONObject
from refresher.review.diff import CommitSummary
from refresher.review.findings import FileEntry
from refresher.upstream.github.client import GitHubError, GitHubResponse
from refresher.upstream.github.graphql_answers import listings_key, plan_listings
from refresher.upstream.github.review import newer_than, parse_date
from refresher.upstream.github.shapes import (
    CommitNode,
    Declared,
    ListingNode,
    PlanListing,
    Variables,
    alias,
    graphql_body,
    node_at,
)
from refresher.upstream.httpcache import CachedAnswer, HttpCache
from refresher.upstream.inspect import (
    MAX_HISTORY,
    History,
    HistoryAsk,
    Inspect,
    Inspection,
    is_directory,
)
from skillmeat_site.logs import carry_context

ASKS_PER_QUERY = 200  # objects per query; the read plan's listings take up to 500
MAX_DEPTH = 8  # subdirectory levels followed under an artifact
TREE = "tree"


class GraphQLClient(Protocol):
    def graphql(
        self, query: str, variables: Variables | None = None, *, deadline: float | None = None
    ) -> GitHubResponse: ...


@dataclass(frozen=True, slots=True)
class _Dir:
    repo: str  # lower-cased owner/name
    owner: str
    name: str
    commit: str
    path: str  # '' is the root


type Listing = dict[str, list[str]] | None  # name -> [type, mode (octal text), oid]; None: absent


@dataclass
class _Walk:
    """One artifact's two trees as far as they have been listed."""

    ask: Inspect
    base: dict[str, FileEntry] = field(default_factory=dict)
    head: dict[str, FileEntry] = field(default_factory=dict)
    known: bool = True


def _listed(
    walk: _Walk, directory: _Dir | None, listings: dict[_Dir, Listing | Exception]
) -> dict[str, list[str]]:
    if directory is None:
        return {}
    listing = listings.get(directory)
    if isinstance(listing, Exception):
        walk.known = False  # a listing that could not be read: the files are not known
        return {}
    return listing or {}


def _path(directory: _Dir, name: str) -> str:
    return f"{directory.path}/{name}" if directory.path else name


def _record(
    files: dict[str, FileEntry], directory: _Dir | None, name: str, entry: list[str] | None
) -> None:
    if directory is not None and entry is not None and entry[0] != TREE:
        files[_path(directory, name)] = FileEntry(str(entry[1]), str(entry[2]))


def _child(directory: _Dir | None, name: str, entry: list[str] | None) -> _Dir | None:
    if directory is None or entry is None or entry[0] != TREE:
        return None
    return _Dir(
        directory.repo, directory.owner, directory.name, directory.commit, _path(directory, name)
    )


def _from_plan(listing: PlanListing | None) -> Listing:
    """A listing as the read plan keeps it, in this module's shape (None: no such path)."""
    if listing is None or listing.get("type") != "Tree":
        return None
    entries = listing.get("entries") or {}
    return {name: [str(e[0]), _octal(e[1]), str(e[2])] for name, e in entries.items()}


def _cached_listing(body: object) -> Listing:
    """A listing this module cached (see `_listings`)."""
    return cast(Listing, body) if isinstance(body, dict) else None


def _octal(mode: object) -> str:
    return format(int(mode), "o") if isinstance(mode, int) else str(mode)


class GraphQLReview:
    def __init__(
        self, client: GraphQLClient, cache: HttpCache, *, concurrency: int, deadline: float | None
    ) -> None:
        self.client = client
        self.cache = cache
        self.concurrency = max(1, concurrency)
        self.deadline = deadline

    # -- files and dates -----------------------------------------------------------------------

    def inspect(self, asks: Sequence[Inspect]) -> dict[uuid.UUID, Inspection]:
        walks = {ask.id: _Walk(ask) for ask in asks}
        dates = self._dates({(a.source.owner, a.source.repo, a.head) for a in asks if a.dates})
        # Level by level: the artifact's directory (or a file artifact's parent) at both commits,
        # then the subdirectories that differ.
        pending = {walk.ask.id: [self._root(walk.ask)] for walk in walks.values()}
        for _ in range(MAX_DEPTH + 1):
            wanted = {d for pairs in pending.values() for pair in pairs for d in pair if d}
            listings = self._listings(wanted)
            following: dict[uuid.UUID, list[tuple[_Dir | None, _Dir | None]]] = {}
            for ask_id, pairs in pending.items():
                for pair in pairs:
                    following.setdefault(ask_id, []).extend(
                        self._step(walks[ask_id], pair, listings)
                    )
            pending = {k: v for k, v in following.items() if v}
            if not pending:
                break
        out = {}
        for walk in walks.values():
            ask = walk.ask
            key = (ask.source.owner.lower(), ask.source.repo.lower(), ask.head)
            known = walk.known and not pending.get(ask.id)
            out[ask.id] = Inspection(
                base_files=dict(walk.base) if known and ask.base else None,
                head_files=dict(walk.head) if known else None,
                committed_at=dates.get(key),
            )
        return out

    def _root(self, ask: Inspect) -> tuple[_Dir | None, _Dir | None]:
        path = (
            ask.source.path
            if is_directory(ask.type, ask.source.path)
            else ask.source.path.rpartition("/")[0]
        )
        repo = ask.source.full_name.lower()

        def at(commit: str) -> _Dir | None:
            return _Dir(repo, ask.source.owner, ask.source.repo, commit, path) if commit else None

        return at(ask.base), at(ask.head)

    def _step(
        self,
        walk: _Walk,
        pair: tuple[_Dir | None, _Dir | None],
        listings: dict[_Dir, Listing | Exception],
    ) -> list[tuple[_Dir | None, _Dir | None]]:
        """Record one directory's files at both commits; the subdirectories still to list."""
        base_dir, head_dir = pair
        base, head = _listed(walk, base_dir, listings), _listed(walk, head_dir, listings)
        nested: list[tuple[_Dir | None, _Dir | None]] = []
        for name in sorted(set(base) | set(head)):
            old, new = base.get(name), head.get(name)
            if old is not None and old == new and old[0] == TREE:
                continue  # the same tree at both commits: nothing under it changed
            if not self._wanted(walk.ask, pair, name):
                continue
            _record(walk.base, base_dir, name, old)
            _record(walk.head, head_dir, name, new)
            child = (_child(base_dir, name, old), _child(head_dir, name, new))
            if child != (None, None):
                nested.append(child)
        return nested

    @staticmethod
    def _wanted(ask: Inspect, pair: tuple[_Dir | None, _Dir | None], name: str) -> bool:
        """A file artifact is its one file in its parent's listing; a directory takes all."""
        if is_directory(ask.type, ask.source.path):
            return True
        directory = pair[1] or pair[0]
        path = f"{directory.path}/{name}" if directory and directory.path else name
        return path == ask.source.path

    def _listings(self, wanted: set[_Dir]) -> dict[_Dir, Listing | Exception]:
        """Each directory's listing: from the read plan's listings (the artifact's directory at
        the commits runs read), from this step's own, or asked."""
        keys = {d: f"graphql:tree:{d.repo}:{d.commit}:{d.path}" for d in wanted}
        plan_keys = {(d.repo, d.commit): listings_key(d.repo, d.commit) for d in wanted}
        self.cache.prefetch(set(keys.values()) | set(plan_keys.values()))
        out: dict[_Dir, Listing | Exception] = {}
        asks = []
        for directory, key in keys.items():
            cached = self.cache.get(key)
            stored = self.cache.get(plan_keys[(directory.repo, directory.commit)])
            planned = plan_listings(stored.body) if stored is not None else {}
            if cached is not None:
                out[directory] = _cached_listing(cached.body)
            elif directory.path in planned:
                out[directory] = _from_plan(planned[directory.path])
            else:
                asks.append(directory)
        for directory, answer in self._batched(asks, _listing_lines, _parse_listing).items():
            out[directory] = answer
            if not isinstance(answer, Exception):
                self.cache.put(keys[directory], CachedAnswer(answer, immutable=True))
        return out

    def _dates(
        self, heads: set[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], datetime | None]:
        asks = [_Dir(f"{o}/{n}".lower(), o, n, sha, "") for o, n, sha in sorted(heads)]
        answers = self._batched(asks, _date_lines, _parse_date)
        return {
            (d.owner.lower(), d.name.lower(), d.commit): (a if isinstance(a, datetime) else None)
            for d, a in answers.items()
        }

    # -- history -------------------------------------------------------------------------------

    def history(self, asks: Sequence[HistoryAsk]) -> dict[uuid.UUID, History]:
        answers = self._batched(list(asks), _history_lines, _parse_history)
        out: dict[uuid.UUID, History] = {}
        for ask in asks:
            answer = answers.get(ask)
            if not isinstance(answer, tuple):
                out[ask.id] = History(truncated=True)
                continue
            since, commits = answer
            out[ask.id] = (
                newer_than(ask.base, since, commits, complete=len(commits) <= MAX_HISTORY)
                if since is not None
                else History(truncated=True)
            )
        return out

    # -- batches -------------------------------------------------------------------------------

    def _batched[K: _Dir | HistoryAsk, R](
        self,
        asks: Sequence[K],
        lines: Callable[[int, K, Declared], list[str]],
        parse: Callable[[JSONObject, int, K], R],
    ) -> dict[K, R | Exception]:
        """Send the asks in queries of at most ASKS_PER_QUERY, grouped under one `repository`
        alias per repository as the read plan does, in parallel; each ask's answer or error."""
        chunks = [list(asks[i : i + ASKS_PER_QUERY]) for i in range(0, len(asks), ASKS_PER_QUERY)]

        def one(chunk: list[K]) -> dict[K, R | Exception]:
            query, variables, groups = _grouped_query(chunk, lines)
            try:
                response = self.client.graphql(query, variables, deadline=self.deadline)
            except GitHubError as exc:
                return {ask: exc for ask in chunk}
            data = graphql_body(response.data).get("data") or {}
            out: dict[K, R | Exception] = {}
            for i, members in enumerate(groups):
                node = node_at(data, f"r{i}")
                for k, ask in members:
                    out[ask] = (
                        LookupError("repository not read") if node is None else parse(node, k, ask)
                    )
            return out

        out: dict[K, R | Exception] = {}
        if not chunks:
            return out
        workers = min(self.concurrency, len(chunks))
        with ThreadPoolExecutor(max_workers=workers, initializer=carry_context()) as pool:
            for answers in pool.map(one, chunks):
                out.update(answers)
        return out


def _owner_name(ask: _Dir | HistoryAsk) -> tuple[str, str]:
    if isinstance(ask, _Dir):
        return ask.owner, ask.name
    return ask.source.owner, ask.source.repo


def _grouped_query[K: _Dir | HistoryAsk](
    chunk: list[K], lines: Callable[[int, K, Declared], list[str]]
) -> tuple[str, Variables, list[list[tuple[int, K]]]]:
    """One query: `r<i>: repository(...)` per repository, each ask's lines (aliases numbered
    by `k`) inside its repository's."""
    by_repo: dict[tuple[str, str], list[tuple[int, K]]] = {}
    for k, ask in enumerate(chunk):
        owner, name = _owner_name(ask)
        by_repo.setdefault((owner.lower(), name.lower()), []).append((k, ask))
    variables: Declared = {}
    body: list[str] = []
    groups: list[list[tuple[int, K]]] = []
    for i, members in enumerate(by_repo.values()):
        owner, name = _owner_name(members[0][1])
        variables[f"o{i}"] = ("String!", owner)
        variables[f"n{i}"] = ("String!", name)
        body.append(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{")
        for k, ask in members:
            body.extend(lines(k, ask, variables))
        body.append("  }")
        groups.append(members)
    declared = ", ".join(f"${name}: {kind}" for name, (kind, _) in variables.items())
    query = (
        f"query({declared}) {{\n"
        + "\n".join(body)
        + "\n  rateLimit { cost remaining resetAt }\n}\n"
    )
    return query, {n: v for n, (_, v) in variables.items()}, groups


def _listing_lines(k: int, d: _Dir, variables: Declared) -> list[str]:
    variables[f"e{k}"] = ("String!", f"{d.commit}:{d.path}")
    return [
        f"    x{k}: object(expression: $e{k}) {{",
        "      ... on Tree { entries { name type mode oid } }",
        "    }",
    ]


def _parse_listing(repo: JSONObject, k: int, d: _Dir) -> Listing:
    node = alias(repo, f"x{k}", ListingNode)
    if node is None:
        return None  # the directory does not exist at that commit
    entries = node.get("entries") or []
    return {str(e["name"]): [e["type"], _octal(e["mode"]), e["oid"]] for e in entries}


def _date_lines(k: int, d: _Dir, variables: Declared) -> list[str]:
    variables[f"c{k}"] = ("GitObjectID!", d.commit)
    return [f"    c{k}: object(oid: $c{k}) {{ ... on Commit {{ committedDate }} }}"]


def _parse_date(repo: JSONObject, k: int, d: _Dir) -> datetime | None:
    return parse_date((alias(repo, f"c{k}", CommitNode) or {}).get("committedDate"))


def _history_lines(k: int, ask: HistoryAsk, variables: Declared) -> list[str]:
    variables[f"b{k}"] = ("GitObjectID!", ask.base)
    variables[f"h{k}"] = ("GitObjectID!", ask.head)
    path = ""
    if ask.source.path:
        variables[f"p{k}"] = ("String!", ask.source.path)
        path = f", path: $p{k}"
    return [
        f"    b{k}: object(oid: $b{k}) {{ ... on Commit {{ committedDate }} }}",
        f"    h{k}: object(oid: $h{k}) {{ ... on Commit {{ history(first: {MAX_HISTORY + 1}{path}) "
        "{ nodes { oid message committedDate author { name } } } } }",
    ]


def _parse_history(
    repo: JSONObject, k: int, ask: HistoryAsk
) -> tuple[datetime | None, list[tuple[CommitSummary, datetime | None]]] | None:
    head = alias(repo, f"h{k}", CommitNode)
    if head is None:
        return None
    since = parse_date((alias(repo, f"b{k}", CommitNode) or {}).get("committedDate"))
    nodes = ((head.get("history") or {}).get("nodes")) or []
    commits = []
    for node in nodes:
        moment = parse_date(node.get("committedDate"))
        summary: CommitSummary = {
            "sha": str(node.get("oid") or ""),
            "message": str(node.get("message") or ""),
            "author": str((node.get("author") or {}).get("name") or ""),
            "date": moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "",
        }
        commits.append((summary, moment))
    return since, commits
