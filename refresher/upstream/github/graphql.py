"""The GraphQL read plan (SPEC section 10): the REST plan's answers in a handful of requests.

Three rounds of batched, aliased queries, each round's batches sent in parallel:

1. **Repositories and refs.** Per repository its metadata (owner login, license SPDX id, topics),
   its default branch's head, and the head of every other ref its artifacts track (asked as a
   branch and as a tag at once; an annotated tag is peeled).
2. **Listings.** Per (repository, commit, directory) the directory's object id and entries
   (`object(expression: "<commit>:<dir>")`): a directory artifact's own tree, or a file artifact's
   parent. That gives each artifact's tree or blob oid, its main file's blob oid, mode and size.
   A directory artifact's listing carries its subdirectories' entries one level down (each
   entry's `object { ... on Tree { entries } }`), kept for the review of its files (SPEC 17).
3. **Texts.** Main-file texts, asked by blob oid, only for blobs never read before.

What is addressed by a commit or an oid cannot change, so listings are cached per (repository,
commit) and texts per blob oid in the persistent HTTP cache: a warm refresh of an unchanged
collection sends only round 1. A batch that fails as a whole (5xx, timeout, node limit,
complexity) is retried as two halves; what still fails is read through the REST plan. Per-alias
`NOT_FOUND` is an entry error, never a batch failure. Results are the REST plan's, field for
field: the same `UpstreamRead`s, SHAs, reasons and codes.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from refresher.exceptions import ReadByRest, ReadFailed, ReadSkipped
from refresher.frontmatter import MAX_FILE_BYTES
from refresher.sources import OWNER_RE, REPO_RE
from refresher.upstream.access import SITE_TOKEN, ReadAs
from refresher.upstream.github.client import GitHubError, GitHubResponse, RateLimit
from refresher.upstream.github.rest import place_at_refs
from refresher.upstream.httpcache import CachedAnswer, HttpCache
from refresher.upstream.reads import (
    Reading,
    Target,
    UpstreamRead,
    freeze_all,
    main_file_candidates,
)
from skillmeat_site.logs import carry_context

logger = logging.getLogger("refresher.graphql")

# Batch sizes: at least MIN per query so small runs take few requests, at most MAX so a query's
# server time (about 2 ms per repository, ref, object or text) stays well inside GitHub's 10 s,
# and between the two a run's work is spread over as many queries as it has parallel requests.
REPOS_PER_QUERY = (20, 100)
OBJECTS_PER_QUERY = (50, 500)
TEXTS_PER_QUERY = (50, 300)
TEXT_BYTES_PER_QUERY = 4 * 1024 * 1024
TOPICS = 20  # GitHub allows at most 20 topics on a repository
LINK_MODE = 0o120000

REPOSITORY_FIELDS = f"""fragment RepositoryFields on Repository {{
  nameWithOwner
  isPrivate
  owner {{ login }}
  licenseInfo {{ spdxId }}
  repositoryTopics(first: {TOPICS}) {{ nodes {{ topic {{ name }} }} }}
  defaultBranchRef {{ name target {{ oid }} }}
}}"""
# Subdirectory levels listed inside a directory artifact's own listing: the review of an update
# needs every file under the artifact (SPEC 17), and typical skills keep theirs one level down
# (`scripts/`, `references/`). Deeper levels are listed by the review when it meets them.
NESTED_LEVELS = 1
# A nested listing resolves an object per entry: its weight in a batch, against GitHub's 10 s.
NESTED_WEIGHT = 3
ENTRY_FIELDS = "name type mode oid size"


def _entries(levels: int) -> str:
    """`entries { ... }` of a tree, each subtree's entries `levels` deep asked through `object`."""
    if levels <= 0:
        return f"entries {{ {ENTRY_FIELDS} }}"
    return f"entries {{ {ENTRY_FIELDS} object {{ ... on Tree {{ {_entries(levels - 1)} }} }} }}"


def _listing_fragment(levels: int) -> str:
    return f"""fragment {_fragment_name(levels)} on GitObject {{
  __typename
  oid
  ... on Tree {{ {_entries(levels)} }}
}}"""


def _fragment_name(levels: int) -> str:
    return f"Listing{levels}" if levels else "Listing"


LISTING_FIELDS = _listing_fragment(0)
TEXT_FIELDS = """fragment Text on GitObject {
  ... on Blob { byteSize isBinary isTruncated text }
}"""
RATE_LIMIT = "rateLimit { cost remaining resetAt }"


class GraphQLAPI(Protocol):
    """What the GraphQL plan needs of a client (`client.GitHubClient` satisfies it)."""

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        deadline: float | None = None,
    ) -> GitHubResponse: ...

    @property
    def rate_limit(self) -> RateLimit | None: ...


class Reader(Protocol):
    def read(self, targets: list[Target]) -> dict[uuid.UUID, UpstreamRead]: ...


# -- the queries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepoAsk:
    """Round 1, one repository: its name as written and the refs its artifacts track."""

    key: str  # owner/name, lower-cased: GitHub's names are case-insensitive
    owner: str
    name: str
    refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListingAsk:
    """Round 2, one directory of one repository at one commit ('' is the root)."""

    repo: str  # RepoAsk.key
    owner: str
    name: str
    commit: str
    directory: str
    levels: int = 0  # subdirectory levels listed with it (NESTED_LEVELS for a directory artifact)


@dataclass(frozen=True)
class TextAsk:
    """Round 3, one blob's text, asked by oid in the repository it was found in."""

    repo: str
    owner: str
    name: str
    oid: str
    size: int = 0


def _query(
    variables: dict[str, tuple[str, Any]], body: list[str], fragments: Sequence[str]
) -> tuple[str, dict[str, Any]]:
    declared = ", ".join(f"${name}: {kind}" for name, (kind, _) in variables.items())
    text = f"query({declared}) {{\n" + "\n".join(body) + f"\n  {RATE_LIMIT}\n}}\n"
    text += "\n".join(fragments) + "\n"
    return text, {name: value for name, (_, value) in variables.items()}


def repositories_query(asks: Sequence[RepoAsk]) -> tuple[str, dict[str, Any]]:
    """Round 1: metadata and ref heads of many repositories (alias r<i>, refs h<i>_<j>/t<i>_<j>)."""
    variables: dict[str, tuple[str, Any]] = {}
    body: list[str] = []
    for i, ask in enumerate(asks):
        variables[f"o{i}"] = ("String!", ask.owner)
        variables[f"n{i}"] = ("String!", ask.name)
        lines = [f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{", "    ...RepositoryFields"]
        for j, ref in enumerate(ask.refs):
            variables[f"h{i}_{j}"] = ("String!", f"refs/heads/{ref}")
            variables[f"t{i}_{j}"] = ("String!", f"refs/tags/{ref}")
            lines.append(f"    h{i}_{j}: ref(qualifiedName: $h{i}_{j}) {{ target {{ oid }} }}")
            lines.append(
                f"    t{i}_{j}: ref(qualifiedName: $t{i}_{j}) "
                "{ target { __typename oid ... on Tag { target { oid } } } }"
            )
        lines.append("  }")
        body.extend(lines)
    return _query(variables, body, [REPOSITORY_FIELDS])


def _grouped(asks: Sequence[Any]) -> list[tuple[Any, list[tuple[int, Any]]]]:
    """Asks grouped by repository, in order, each with its index in `asks`."""
    groups: dict[str, tuple[Any, list[tuple[int, Any]]]] = {}
    for index, ask in enumerate(asks):
        groups.setdefault(ask.repo, (ask, []))[1].append((index, ask))
    return list(groups.values())


def listings_query(asks: Sequence[ListingAsk]) -> tuple[str, dict[str, Any]]:
    """Round 2: directories at commits (alias r<i> per repository, x<k> per directory)."""
    variables: dict[str, tuple[str, Any]] = {}
    body: list[str] = []
    for i, (first, members) in enumerate(_grouped(asks)):
        variables[f"o{i}"] = ("String!", first.owner)
        variables[f"n{i}"] = ("String!", first.name)
        body.append(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{")
        for k, ask in members:
            variables[f"e{k}"] = ("String!", f"{ask.commit}:{ask.directory}")
            fragment = _fragment_name(ask.levels)
            body.append(f"    x{k}: object(expression: $e{k}) {{ ...{fragment} }}")
        body.append("  }")
    # Only the fragments the query spreads: GitHub refuses an unused one.
    return _query(variables, body, [_listing_fragment(n) for n in sorted({a.levels for a in asks})])


def texts_query(asks: Sequence[TextAsk]) -> tuple[str, dict[str, Any]]:
    """Round 3: blob texts by oid (alias r<i> per repository, b<k> per blob)."""
    variables: dict[str, tuple[str, Any]] = {}
    body: list[str] = []
    for i, (first, members) in enumerate(_grouped(asks)):
        variables[f"o{i}"] = ("String!", first.owner)
        variables[f"n{i}"] = ("String!", first.name)
        body.append(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{")
        for k, ask in members:
            variables[f"b{k}"] = ("GitObjectID!", ask.oid)
            body.append(f"    b{k}: object(oid: $b{k}) {{ ...Text }}")
        body.append("  }")
    return _query(variables, body, [TEXT_FIELDS])


# -- answers -------------------------------------------------------------------------------------


@dataclass
class _RepoInfo:
    repository: dict[str, Any]
    default_head: str
    refs: dict[str, tuple[str, str] | None] = field(default_factory=dict)


def _alias_errors(errors: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The first error GitHub reported under each top-level alias."""
    out: dict[str, dict[str, Any]] = {}
    for error in errors:
        if isinstance(error, dict) and error.get("path"):
            out.setdefault(str(error["path"][0]), error)
    return out


def _per_repository[K](
    asks: Sequence[K],
    data: dict[str, Any],
    errors: list[Any],
    answer: Callable[[dict[str, Any], int, K], Any],
) -> dict[K, Any]:
    """Each ask's answer from its repository's alias ``r<i>``, asked as ``answer(node, k, ask)``.

    A repository that came back null fails every ask under it, with the error GitHub gave for
    that alias (a NOT_FOUND is the artifacts' ``upstream_not_found``, not a failed batch).
    """
    by_alias = _alias_errors(errors)
    out: dict[K, Any] = {}
    for i, (first, members) in enumerate(_grouped(asks)):
        node = data.get(f"r{i}")
        if node is None:
            failure = _alias_failure(by_alias.get(f"r{i}"), f"{first.owner}/{first.name}")
            out.update({ask: failure for _, ask in members})
            continue
        for k, ask in members:
            out[ask] = answer(node, k, ask)
    return out


def _alias_failure(error: dict[str, Any] | None, what: str) -> Exception:
    if error is not None and error.get("type") == "NOT_FOUND":
        return ReadFailed("upstream_not_found", f"{what} was not found on GitHub")
    if error is not None and error.get("type") == "FORBIDDEN":
        return ReadFailed("upstream_forbidden", f"GitHub refused to show {what}")
    # Anything else GitHub could not resolve under one alias: let REST try it.
    return ReadByRest(str((error or {}).get("message") or f"no answer for {what}"))


def _repository_dict(node: dict[str, Any]) -> dict[str, Any]:
    """GitHub's GraphQL repository in the REST shape `refresher.derive` reads."""
    license_info = node.get("licenseInfo") or None
    topics = ((node.get("repositoryTopics") or {}).get("nodes")) or []
    return {
        "full_name": node.get("nameWithOwner") or "",
        "private": bool(node.get("isPrivate")),
        "owner": {"login": (node.get("owner") or {}).get("login") or ""},
        "license": {"spdx_id": license_info.get("spdxId")} if license_info else None,
        "topics": [t["topic"]["name"] for t in topics if t and t.get("topic")],
        "default_branch": (node.get("defaultBranchRef") or {}).get("name") or "",
    }


def _ref_head(node: dict[str, Any] | None) -> str:
    target = (node or {}).get("target") or {}
    if target.get("__typename") == "Tag":
        # An annotated tag: the REST plan reads at the object it points to, one level down.
        return str((target.get("target") or {}).get("oid") or "")
    return str(target.get("oid") or "")


def _kind(entry: Sequence[Any]) -> str:
    type_, mode = entry[0], int(entry[1])
    if type_ == "tree":
        return "dir"
    if type_ == "blob":
        return "link" if mode == LINK_MODE else "file"
    return "other"


def _listings(node: dict[str, Any] | None, directory: str) -> dict[str, dict[str, Any] | None]:
    """A directory's listing and those of the subdirectories listed inside it, by path.

    A subdirectory at the last level asked has no `entries`: it is not listed, not empty.
    """
    if node is None:
        return {directory: None}
    out: dict[str, dict[str, Any] | None] = {}

    def visit(path: str, kind: object, oid: object, tree: dict[str, Any]) -> None:
        entries = {}
        for e in tree.get("entries") or []:
            entries[e["name"]] = [e["type"], e["mode"], e["oid"], e["size"]]
            child = e.get("object")
            if e["type"] == "tree" and isinstance(child, dict) and "entries" in child:
                visit(f"{path}/{e['name']}" if path else e["name"], "Tree", e["oid"], child)
        out[path] = {"type": kind, "oid": oid, "entries": entries}

    visit(directory, node.get("__typename"), node.get("oid"), node)
    return out


def _parent(path: str) -> tuple[str, str]:
    parent, _, name = path.rpartition("/")
    return parent, name


def _file_artifact(target: Target) -> bool:
    """True when the artifact is its main file; else it is a directory holding it."""
    return main_file_candidates(target.type, target.source.path) == [target.source.path]


def _lookup(
    listings: dict[tuple[str, str, str], dict[str, Any] | None],
    target: Target,
    commit: str,
    wanted: str,
) -> tuple[str, str, int] | None:
    """(kind, oid, size) of `wanted` at `commit` from the listings; None when it does not exist."""
    repo, path = target.source.full_name.lower(), target.source.path
    if wanted == path and not _file_artifact(target):
        listing = listings[(repo, commit, path)]
        if listing is None:
            return None
        return ("dir" if listing["type"] == "Tree" else "file", str(listing["oid"]), 0)
    parent, base = _parent(wanted)
    listing = listings[(repo, commit, parent)]
    if listing is None or listing["type"] != "Tree":
        return None
    entry = listing["entries"].get(base)
    if entry is None:
        return None
    return (_kind(entry), str(entry[2]), int(entry[3]))


def _valid_name(full_name: str) -> bool:
    """Whether a name GitHub reports is a plain `owner/repo` (never trusted beyond that)."""
    owner, slash, repo = full_name.partition("/")
    return bool(slash) and bool(OWNER_RE.match(owner)) and bool(REPO_RE.match(repo))


def _listing_key(repo: str, commit: str) -> str:
    return f"graphql:listings:{repo}:{commit}"


def listings_key(repo: str, commit: str) -> str:
    """The HTTP cache key of the directory listings this plan read at a commit, for others that
    need the same listings (the review of an update): `{directory: listing or None}`, where a
    listing is `{"type", "oid", "entries": {name: [type, mode, oid, size]}}`. The subdirectories
    listed inside a directory artifact's listing are there under their own paths."""
    return _listing_key(repo, commit)


def _text_key(oid: str) -> str:
    return f"graphql:blob:{oid}"


def _too_large(size: int) -> ReadFailed:
    # The message the REST plan's size check gives, so both plans answer alike.
    return ReadFailed(
        "file_too_large", f"the file is {size} bytes; at most {MAX_FILE_BYTES} are read"
    )


# -- the reader ----------------------------------------------------------------------------------


class GraphQLReader:
    """Reads a run's GitHub targets through GraphQL, handing REST what GraphQL could not read."""

    def __init__(
        self,
        client: GraphQLAPI,
        cache: HttpCache,
        *,
        concurrency: int,
        deadline: float | None = None,
        on_progress: Callable[[int], None] | None = None,
        rest: Callable[[], Reader],
        read_as: ReadAs = SITE_TOKEN,
    ) -> None:
        self.client = client
        self.read_as = read_as
        self.cache = cache
        self.concurrency = max(1, concurrency)
        self.deadline = deadline
        self.on_progress = on_progress
        self.rest = rest
        self._stop: ReadSkipped | ReadFailed | None = None
        self._sizes: dict[Any, int] = {}  # main-file byte size per target, from its listing
        self._handed: set[Any] = set()  # targets handed to the REST plan
        self._renamed: dict[str, str] = {}  # lower-cased name as written -> GitHub's current name
        self.points = 0  # GraphQL points the run's queries cost, as GitHub reported them

    def read(self, targets: Iterable[Target]) -> dict[uuid.UUID, UpstreamRead]:
        targets = list(targets)
        self._started = time.monotonic()
        results = {t.id: Reading() for t in targets}
        fallback: list[Target] = []
        with ThreadPoolExecutor(max_workers=self.concurrency, initializer=carry_context()) as pool:
            self._pool = pool
            repos = self._round_repositories(targets, results, fallback)
            self._resolve_refs(targets, results, repos)
            listings = self._round_listings(targets, results, fallback)
            self._locate(targets, results, listings)
            self._round_texts(targets, results, fallback)
        quota = getattr(self.client, "quota", None)
        if quota is not None:
            # Share what this run learnt of the quota with the other processes.
            quota.sync(final=True)
        reads = freeze_all(results)
        if fallback:
            logger.info(
                "GraphQL could not read %d artifact(s); reading them via REST", len(fallback)
            )
            reads.update(self.rest().read(fallback))
        return reads

    # -- round 1: repositories and refs --------------------------------------------------------

    def _round_repositories(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        fallback: list[Target],
    ) -> dict[str, _RepoInfo]:
        wanted: dict[str, tuple[str, str, set[str]]] = {}
        for t in targets:
            key = t.source.full_name.lower()
            refs = wanted.setdefault(key, (t.source.owner, t.source.repo, set()))[2]
            if t.source.ref and not t.source.pinned_to_sha and not t.at_commit:
                refs.add(t.source.ref)
        asks = [
            RepoAsk(key, o, n, tuple(sorted(refs))) for key, (o, n, refs) in sorted(wanted.items())
        ]
        answers = self._run(
            asks,
            build=repositories_query,
            parse=self._parse_repositories,
            limits=REPOS_PER_QUERY,
            weight=lambda ask: 1 + 2 * len(ask.refs),
        )
        by_key = {ask.key: answer for ask, answer in answers.items()}
        for key, answer in by_key.items():
            current = answer.repository["full_name"] if isinstance(answer, _RepoInfo) else ""
            if current and current.lower() != key and _valid_name(current):
                # GitHub answered under the repository's new name: later rounds ask for that.
                self._renamed[key] = current
        repos: dict[str, _RepoInfo] = {}
        for t in targets:
            key = t.source.full_name.lower()
            answer = by_key[key]
            private = isinstance(answer, _RepoInfo) and answer.repository["private"]
            if private and not self.read_as.private:
                # Read with a token this collection may not borrow: none of it is used.
                message = self.read_as.refuse_private(t.source.full_name)
                answer = ReadFailed("credentials_required", message)
            if isinstance(answer, _RepoInfo):
                repos[key] = answer
                results[t.id].repository = answer.repository
                if key in self._renamed:
                    results[t.id].renamed_to = self._renamed[key]
            else:
                self._settle(t, results, answer, fallback)
        return repos

    @staticmethod
    def _parse_repositories(
        asks: Sequence[RepoAsk], data: dict[str, Any], errors: list[Any]
    ) -> dict[RepoAsk, Any]:
        by_alias = _alias_errors(errors)
        out: dict[RepoAsk, Any] = {}
        for i, ask in enumerate(asks):
            node = data.get(f"r{i}")
            if node is None:
                out[ask] = _alias_failure(by_alias.get(f"r{i}"), f"{ask.owner}/{ask.name}")
                continue
            default = node.get("defaultBranchRef")
            info = _RepoInfo(_repository_dict(node), _ref_head(default))
            for j, ref in enumerate(ask.refs):
                branch, tag = _ref_head(node.get(f"h{i}_{j}")), _ref_head(node.get(f"t{i}_{j}"))
                # As in the REST plan: a branch of that name first, then a tag.
                info.refs[ref] = ("branch", branch) if branch else ("tag", tag) if tag else None
            out[ask] = info
        return out

    def _resolve_refs(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        repos: dict[str, _RepoInfo],
    ) -> None:
        """Each artifact's commit to read at and commit to track, as the REST plan decides."""
        for t in self._live(targets, results):
            source, item = t.source, results[t.id]
            info = repos[source.full_name.lower()]
            if t.at_commit:
                # An approval: the reviewed commit, taken as the head it was then.
                item.read_sha = item.tracked_sha = t.at_commit
                continue
            if not info.default_head:
                self._fail(
                    item,
                    ReadFailed(
                        "upstream_not_found",
                        f"{source.full_name} has no default branch (the repository is empty)",
                    ),
                )
                continue
            own = None
            if source.ref and not source.pinned_to_sha:
                own = info.refs.get(source.ref)
                if own is None:
                    message = f"no branch or tag named {source.ref!r} in {source.full_name}"
                    self._fail(item, ReadFailed("upstream_not_found", message))
                    continue
            place_at_refs(item, source, default_sha=info.default_head, own=own)

    # -- round 2: listings ---------------------------------------------------------------------

    def _round_listings(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        fallback: list[Target],
    ) -> dict[tuple[str, str, str], dict[str, Any] | None]:
        needed: dict[tuple[str, str, str], list[Target]] = {}
        for t in self._live(targets, results):
            item = results[t.id]
            directory = _parent(t.source.path)[0] if _file_artifact(t) else t.source.path
            for commit in {item.read_sha, item.tracked_sha}:
                needed.setdefault((t.source.full_name.lower(), commit, directory), []).append(t)
        stored = self._load_listings({(repo, commit) for repo, commit, _ in needed})
        listings: dict[tuple[str, str, str], dict[str, Any] | None] = {}
        asks: list[ListingAsk] = []
        for key, users in sorted(needed.items()):
            repo, commit, directory = key
            known = stored.get((repo, commit), {})
            if directory in known:
                listings[key] = known[directory]
            else:
                owner, name = self._address(users[0])
                # A directory artifact's subdirectories come along, for the review of its files.
                nested = any(not _file_artifact(t) for t in users)
                levels = NESTED_LEVELS if nested else 0
                asks.append(ListingAsk(repo, owner, name, commit, directory, levels))
        answers = self._run(
            asks,
            build=listings_query,
            parse=self._parse_listings,
            limits=OBJECTS_PER_QUERY,
            weight=lambda ask: NESTED_WEIGHT if ask.levels else 1,
        )
        fresh: dict[tuple[str, str], dict[str, Any]] = {}
        for ask, answer in answers.items():
            key = (ask.repo, ask.commit, ask.directory)
            if isinstance(answer, Exception):
                for t in needed[key]:
                    if self._is_live(results[t.id]) and t.id not in self._handed:
                        self._settle(t, results, answer, fallback)
                continue
            listings[key] = answer[ask.directory]
            fresh.setdefault((ask.repo, ask.commit), dict(stored.get((ask.repo, ask.commit), {})))
            fresh[(ask.repo, ask.commit)].update(answer)
        for (repo, commit), dirs in fresh.items():
            # A commit's directories never change: kept for good, added to as runs need more.
            self.cache.put(_listing_key(repo, commit), CachedAnswer(dirs, immutable=True))
        return listings

    def _load_listings(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        self.cache.prefetch({_listing_key(repo, commit) for repo, commit in pairs})
        out = {}
        for repo, commit in pairs:
            cached = self.cache.get(_listing_key(repo, commit))
            if cached is not None and isinstance(cached.body, dict):
                out[(repo, commit)] = cached.body
        return out

    @staticmethod
    def _parse_listings(
        asks: Sequence[ListingAsk], data: dict[str, Any], errors: list[Any]
    ) -> dict[ListingAsk, Any]:
        # A null object is a path that does not exist at that commit: an answer too.
        return _per_repository(
            asks, data, errors, lambda node, k, ask: _listings(node.get(f"x{k}"), ask.directory)
        )

    def _locate(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        listings: dict[tuple[str, str, str], dict[str, Any] | None],
    ) -> None:
        """Each artifact's path oid and main file at the commits it needs (as the REST plan)."""
        for t in self._live(targets, results):
            item, name, path = results[t.id], t.source.full_name, t.source.path
            try:
                found = _lookup(listings, t, item.read_sha, path)
                if found is None:
                    raise ReadFailed(
                        "upstream_not_found",
                        f"{path!r} does not exist in {name}@{item.read_sha[:7]}",
                    )
                item.read_path_sha = found[1]
                candidates = main_file_candidates(t.type, path)
                for candidate in candidates:
                    main = _lookup(listings, t, item.read_sha, candidate)
                    if main and main[0] == "file":
                        item.main_file, item.blob_sha = candidate, main[1]
                        item.data = None
                        self._sizes[t.id] = main[2]
                        break
                    if main and main[0] == "link":
                        raise ReadFailed(
                            "upstream_not_found",
                            f"{candidate} in {name}@{item.read_sha[:7]} is a symbolic link, "
                            "which is not followed",
                        )
                else:
                    raise ReadFailed(
                        "upstream_not_found",
                        f"no {' or '.join(candidates)} in {name}@{item.read_sha[:7]}",
                    )
                if item.tracked_sha == item.read_sha:
                    item.tracked_path_sha = item.read_path_sha
                else:
                    tracked = _lookup(listings, t, item.tracked_sha, path)
                    # A path gone from the tracked branch is an update of its own kind.
                    item.tracked_path_sha = tracked[1] if tracked else ""
            except ReadFailed as exc:
                self._fail(item, exc)

    # -- round 3: texts ------------------------------------------------------------------------

    def _round_texts(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        fallback: list[Target],
    ) -> None:
        live = self._live(targets, results)
        for t in live:
            if self._sizes.get(t.id, 0) > MAX_FILE_BYTES:
                self._fail(results[t.id], _too_large(self._sizes[t.id]))
        live = self._live(targets, results)
        self.cache.prefetch({_text_key(results[t.id].blob_sha) for t in live})
        asks: dict[str, TextAsk] = {}
        for t in live:
            oid = results[t.id].blob_sha
            if self.cache.get(_text_key(oid)) is None and oid not in asks:
                owner, name = self._address(t)
                asks[oid] = TextAsk(t.source.full_name.lower(), owner, name, oid, self._sizes[t.id])
        ordered = sorted(asks.values(), key=lambda a: (a.repo, a.oid))
        answers = self._run(
            ordered,
            build=texts_query,
            parse=self._parse_texts,
            limits=TEXTS_PER_QUERY,
            max_bytes=TEXT_BYTES_PER_QUERY,
        )
        for ask, answer in answers.items():
            if isinstance(answer, dict) and not answer.get("truncated"):
                self.cache.put(_text_key(ask.oid), CachedAnswer(answer, immutable=True))
        for t in live:
            item = results[t.id]
            answer = answers.get(asks[item.blob_sha]) if item.blob_sha in asks else None
            if answer is None:
                cached = self.cache.get(_text_key(item.blob_sha))
                answer = cached.body if cached is not None else ReadByRest("no text")
            if isinstance(answer, Exception):
                self._settle(t, results, answer, fallback)
            elif answer.get("truncated"):
                # GitHub cut the text short: the REST plan reads the whole blob.
                self._settle(t, results, ReadByRest("text truncated"), fallback)
            elif answer.get("size", 0) > MAX_FILE_BYTES:
                self._fail(item, _too_large(int(answer["size"])))
            elif answer.get("binary"):
                self._fail(item, ReadFailed("invalid_metadata", "the file is binary, not text"))
            elif answer.get("text") is None:
                self._fail(item, ReadFailed("invalid_metadata", "the file is not UTF-8 text"))
            else:
                item.data = str(answer["text"]).encode("utf-8")
                self._done(item)

    @staticmethod
    def _parse_texts(
        asks: Sequence[TextAsk], data: dict[str, Any], errors: list[Any]
    ) -> dict[TextAsk, Any]:
        def text(node: dict[str, Any], k: int, ask: TextAsk) -> Any:
            blob = node.get(f"b{k}")
            if not blob or "byteSize" not in blob:
                return ReadByRest(f"no blob {ask.oid}")
            return {
                "text": blob.get("text"),
                "binary": bool(blob.get("isBinary")),
                "truncated": bool(blob.get("isTruncated")),
                "size": int(blob.get("byteSize") or 0),
            }

        return _per_repository(asks, data, errors, text)

    # -- batches -------------------------------------------------------------------------------

    def _run[K](
        self,
        asks: Sequence[K],
        *,
        build: Callable[[Sequence[K]], tuple[str, dict[str, Any]]],
        parse: Callable[[Sequence[K], dict[str, Any], list[Any]], dict[K, Any]],
        limits: tuple[int, int],
        weight: Callable[[K], int] = lambda ask: 1,
        max_bytes: int = 0,
    ) -> dict[K, Any]:
        """Send `asks` in parallel batches; every ask gets its answer or an exception."""
        if not asks:
            return {}
        quota = getattr(self.client, "quota", None)
        if quota is not None:
            # A pause or an exhausted quota another process met since the last round stops this one.
            quota.sync(if_sent=True)
        low, high = limits
        total = sum(weight(a) for a in asks)
        # At least `low` asks (not weight) per query, so heavier asks do not mean more queries
        # for a small run; at most `high` weight, for GitHub's time limit.
        floor = math.ceil(low * total / len(asks))
        size = min(high, max(floor, math.ceil(total / self.concurrency)))
        batches: list[list[K]] = [[]]
        load = volume = 0
        for ask in asks:
            ask_bytes = int(getattr(ask, "size", 0))
            full = load + weight(ask) > size or (max_bytes and volume + ask_bytes > max_bytes)
            if batches[-1] and full:
                batches.append([])
                load = volume = 0
            batches[-1].append(ask)
            load += weight(ask)
            volume += ask_bytes
        out: dict[K, Any] = {}
        for answer in self._pool.map(lambda b: self._send(b, build, parse, halve=True), batches):
            out.update(answer)
        return out

    def _send[K](
        self,
        batch: Sequence[K],
        build: Callable[[Sequence[K]], tuple[str, dict[str, Any]]],
        parse: Callable[[Sequence[K], dict[str, Any], list[Any]], dict[K, Any]],
        *,
        halve: bool,
    ) -> dict[K, Any]:
        if self._stop is not None:
            return dict.fromkeys(batch, self._stop)
        query, variables = build(batch)
        try:
            response = self.client.graphql(query, variables, deadline=self.deadline)
        except GitHubError as exc:
            failure = self._classify(exc)
            if not isinstance(failure, ReadByRest):
                return dict.fromkeys(batch, failure)
            return self._retry_halves(batch, build, parse, halve=halve, why=failure)
        body = response.data
        data = body.get("data")
        errors = body.get("errors") or []
        if not isinstance(data, dict):
            # The query failed as a whole: node limit, complexity, a timeout inside GitHub.
            kinds = sorted(
                {str(e.get("type") or e.get("message")) for e in errors if isinstance(e, dict)}
            )
            why = ReadByRest(f"GraphQL query failed: {', '.join(kinds) or 'no data'}")
            return self._retry_halves(batch, build, parse, halve=halve, why=why)
        cost = (data.get("rateLimit") or {}).get("cost")
        if isinstance(cost, int):
            self.points += cost
        return parse(batch, data, errors)

    def _retry_halves[K](
        self,
        batch: Sequence[K],
        build: Callable[[Sequence[K]], tuple[str, dict[str, Any]]],
        parse: Callable[[Sequence[K], dict[str, Any], list[Any]], dict[K, Any]],
        *,
        halve: bool,
        why: ReadByRest,
    ) -> dict[K, Any]:
        if not halve or len(batch) < 2:
            logger.warning("GraphQL batch of %d failed (%s); REST reads it", len(batch), why)
            return dict.fromkeys(batch, why)
        middle = len(batch) // 2
        out = self._send(batch[:middle], build, parse, halve=False)
        out.update(self._send(batch[middle:], build, parse, halve=False))
        return out

    def _classify(self, exc: GitHubError) -> Exception:
        if exc.deadline:
            return ReadSkipped("deadline_exceeded", "the refresh ran out of time for this read")
        if exc.code == "rate_limited":
            reset = exc.reset_at.isoformat().replace("+00:00", "Z") if exc.reset_at else None
            self._stop = ReadSkipped(
                "rate_limited",
                f"GitHub's rate limit is exhausted{f' until {reset}' if reset else ''}",
            )
            # As in the REST plan: what met the limit is an error, what was not sent is skipped.
            return ReadFailed("rate_limited", exc.message)
        if exc.status == 401 or exc.code == "upstream_unauthorized":
            # A bad token fails every request alike: stop after the first answer.
            self._stop = ReadFailed("upstream_unauthorized", self.read_as.refused(exc.message))
            return self._stop
        if exc.permanent and exc.code == "upstream_forbidden":
            return ReadFailed(exc.code, exc.message)
        return ReadByRest(exc.message)

    # -- plumbing ------------------------------------------------------------------------------

    def _address(self, target: Target) -> tuple[str, str]:
        """The owner and name to ask GitHub for: the current ones after a rename."""
        current = self._renamed.get(target.source.full_name.lower())
        if current is None:
            return target.source.owner, target.source.repo
        owner, _, name = current.partition("/")
        return owner, name

    @staticmethod
    def _is_live(item: Reading) -> bool:
        return item.error is None and item.skipped is None

    def _live(self, targets: list[Target], results: dict[uuid.UUID, Reading]) -> list[Target]:
        return [t for t in targets if self._is_live(results[t.id]) and t.id not in self._handed]

    def _settle(
        self,
        target: Target,
        results: dict[uuid.UUID, Reading],
        failure: Exception,
        fallback: list[Target],
    ) -> None:
        if isinstance(failure, ReadByRest):
            if target.id not in self._handed:
                self._handed.add(target.id)
                fallback.append(target)
            return
        self._fail(results[target.id], failure)

    def _fail(self, item: Reading, exc: Exception) -> None:
        if isinstance(exc, ReadSkipped):
            item.skipped = exc
        elif isinstance(exc, ReadFailed):
            item.error = exc
        else:  # pragma: no cover - only the two above reach here
            item.error = ReadFailed("upstream_unavailable", str(exc))
        self._done(item)

    def _done(self, item: Reading) -> None:
        item.duration_ms = int((time.monotonic() - self._started) * 1000)
        if self.on_progress:
            self.on_progress(1)
