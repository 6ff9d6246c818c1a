"""The read plan (SPEC section 4): everything a refresh needs from GitHub, in a few waves.

Per repository its metadata once; per (repository, ref) the ref's head commit and that commit's
recursive tree; per artifact only the blob of its main file. Reads of one wave run in parallel on
a thread pool sharing one client; between waves the engine's thread loads the cache entries the
next wave needs, so worker threads never touch the database.

Trees, blobs and tag objects are addressed by SHA and never change: a cached one is used without a
request. Repository and ref answers are revalidated with their ETag (a free 304 when unchanged).

Owner and repository names are case-insensitive on GitHub, so the plan addresses every repository
by its lower-cased name: `Foo/Bar` and `foo/bar` are one repository in a run and in the cache. A
renamed repository is read once through GitHub's redirect; the rest of the run uses its new name,
and each of its artifacts reports it (`UpstreamRead.renamed_to`).

Before every wave the engine's thread syncs the client's quota governor with the state shared by
all processes (one query): a secondary-limit pause another process met stops this run's requests
too. Worker threads only consult the governor's memory.
"""

import base64
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from refresher.exceptions import ReadFailed, ReadSkipped
from refresher.frontmatter import MAX_FILE_BYTES
from refresher.sources import OWNER_RE, REPO_RE, Source
from refresher.upstream.access import SITE_TOKEN, ReadAs
from refresher.upstream.github.client import GitHubError, GitHubResponse, RateLimit
from refresher.upstream.github.governor import QuotaGovernor
from refresher.upstream.httpcache import CachedAnswer, HttpCache, cache_key
from refresher.upstream.reads import (
    Reading,
    Target,
    UpstreamRead,
    freeze_all,
    main_file_candidates,
)
from skillmeat_site.logs import carry_context

# Consecutive transient failures after which upstream is taken as down for the rest of the run.
CIRCUIT_BREAKER_FAILURES = 3


class GitHubAPI(Protocol):
    """What the reader needs of a GitHub client (`client.GitHubClient` satisfies it)."""

    def get(
        self,
        path: str,
        *,
        params: dict[str, str] | None = None,
        etag: str = "",
        last_modified: str = "",
        deadline: float | None = None,
    ) -> GitHubResponse: ...

    @property
    def rate_limit(self) -> RateLimit | None: ...

    @property
    def quota(self) -> QuotaGovernor: ...

    def close(self) -> None: ...


class Entry(NamedTuple):
    """A path in a tree or a directory listing."""

    kind: str  # file, dir, link, or other (a submodule's commit)
    sha: str  # its tree or blob SHA
    size: int = 0  # a file's byte size, as the tree or listing gives it (0 for the rest)


class RepoRef(NamedTuple):
    repo: str  # owner/name
    ref: str  # a branch or tag name


class ResolvedRef(NamedTuple):
    """What a ref names: a branch (tracked) or a tag (pinned), and its commit."""

    kind: str  # branch or tag
    sha: str


class RepoCommit(NamedTuple):
    repo: str
    commit: str


class RepoDir(NamedTuple):
    """A directory of a repository at a commit, as the Contents API lists it."""

    repo: str
    commit: str
    directory: str


class RepoBlob(NamedTuple):
    repo: str
    sha: str


class Fetch(NamedTuple):
    """One GET of a wave."""

    path: str
    params: dict[str, str] | None
    immutable: bool  # addressed by SHA: a cached answer is used without a request


class MainFile(NamedTuple):
    path: str
    blob_sha: str
    size: int


@dataclass
class _Tree:
    sha: str
    entries: dict[str, Entry]  # by path
    truncated: bool
    # Set when the recursive tree could not be read at all (a timeout, a 502): the artifacts of
    # that commit are then found through directory listings, like those of a truncated tree.
    failed: "ReadFailed | None" = None


@dataclass
class _View:
    """One repository's files at any commit the run read, from its trees or listings."""

    name: str
    trees: dict[RepoCommit, "_Tree | Exception"]
    listings: dict[RepoDir, dict[str, Entry] | Exception]

    def lookup(self, commit: str, path: str) -> Entry | None:
        """What `path` is at `commit`, None when it does not exist."""
        tree = self.trees[RepoCommit(self.name, commit)]
        if isinstance(tree, Exception):
            raise tree
        if not path:
            if tree.failed is not None:
                raise tree.failed  # the root's own SHA is only in the tree that failed
            return Entry("dir", tree.sha)
        if not tree.truncated:
            return tree.entries.get(path)
        listing = self.listings[RepoDir(self.name, commit, _parent(path))]
        if isinstance(listing, ReadFailed) and listing.code == "upstream_not_found":
            return None
        if isinstance(listing, Exception):
            raise listing
        return listing.get(path)


def _valid_name(full_name: str) -> bool:
    """Whether a name upstream reports is one we may put in a request path (`owner/repo`)."""
    owner, _, repo = full_name.partition("/")
    return bool(OWNER_RE.match(owner) and REPO_RE.match(repo) and repo not in (".", ".."))


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _entry(kind: str, entry: dict[str, Any]) -> Entry:
    size = entry.get("size") if kind == "file" else 0
    return Entry(kind, entry["sha"], size if isinstance(size, int) else 0)


def _tree_kind(entry: dict[str, Any]) -> str:
    if entry.get("type") == "tree":
        return "dir"
    if entry.get("type") == "blob":
        return "link" if entry.get("mode") == "120000" else "file"
    return "other"  # a submodule's commit


def _contents_kind(entry: dict[str, Any]) -> str:
    return {"file": "file", "dir": "dir", "symlink": "link"}.get(entry.get("type", ""), "other")


def place_at_refs(
    item: Reading,
    source: Source,
    *,
    default_sha: str,
    own: tuple[str, str] | None,
) -> None:
    """Which commit an artifact is read at and which head it tracks (both read plans).

    `own` is the (kind, sha) its own ref resolved to, when it names one that is not a SHA. A SHA
    or a tag pins the artifact: it is read there and tracks the default branch (SPEC 4).
    """
    item.tracked_sha = item.read_sha = default_sha
    if source.pinned_to_sha:
        item.pinned, item.read_sha = True, source.ref
    elif own is not None:
        kind, sha = own
        item.read_sha = sha
        if kind == "branch":
            item.tracked_sha = sha
        else:
            item.pinned = True


class UpstreamReader:
    def __init__(
        self,
        client: GitHubAPI,
        cache: HttpCache,
        *,
        concurrency: int,
        deadline: float | None = None,
        on_progress: Callable[[int], None] | None = None,
        read_as: ReadAs = SITE_TOKEN,
    ) -> None:
        self.client = client
        self.cache = cache
        self.concurrency = max(1, concurrency)
        self.deadline = deadline  # time.monotonic() value, or None for no deadline
        self.on_progress = on_progress
        self.read_as = read_as
        self._stop: ReadSkipped | ReadFailed | None = None
        self._transient_failures = 0
        # Lower-cased `owner/repo` as written -> the name requests use (the new one after a
        # rename), filled by the repository wave.
        self._names: dict[str, str] = {}

    # -- the waves -----------------------------------------------------------------------------

    def read(self, targets: Iterable[Target]) -> dict[uuid.UUID, UpstreamRead]:
        targets = list(targets)
        self._started = time.monotonic()
        results = {t.id: Reading() for t in targets}
        with ThreadPoolExecutor(max_workers=self.concurrency, initializer=carry_context()) as pool:
            self._pool = pool
            repos = self._wave_repositories(targets, results)
            self._wave_refs(targets, results, repos)
            trees = self._wave_trees(targets, results)
            listings = self._wave_listings(targets, results, trees)
            self._locate(targets, results, trees, listings)
            self._wave_blobs(targets, results)
        # Share what this run learnt of the quota (its remaining counts) with the other processes.
        self.client.quota.sync(final=True)
        return freeze_all(results)

    def _name(self, target: Target) -> str:
        """The name this run addresses the target's repository by (lower-cased, renames applied)."""
        key = target.source.full_name.lower()
        return self._names.get(key, key)

    def _wave_repositories(
        self, targets: list[Target], results: dict[uuid.UUID, Reading]
    ) -> dict[str, dict[str, Any]]:
        names = sorted({self._name(t) for t in targets})
        answers = self._fetch_all({n: Fetch(f"/repos/{n}", None, False) for n in names})
        for name, answer in answers.items():
            current = answer.get("full_name") if isinstance(answer, dict) else None
            if isinstance(current, str) and current.lower() != name and _valid_name(current):
                # GitHub redirected the old name: the rest of the run asks for the new one.
                self._names[name] = current.lower()
        repos: dict[str, dict[str, Any]] = {}
        for t in targets:
            key = t.source.full_name.lower()
            answer = answers[key]
            if (
                not isinstance(answer, Exception)
                and answer.get("private")
                and not (self.read_as.private)
            ):
                # Read with a token this collection may not borrow: nothing of it is kept.
                self.cache.discard(cache_key(f"/repos/{key}"))
                answer = ReadFailed(
                    "credentials_required", self.read_as.refuse_private(t.source.full_name)
                )
            if isinstance(answer, Exception):
                self._fail(results[t.id], answer)
                continue
            repos[self._name(t)] = answer
            results[t.id].repository = answer
            if key in self._names:
                results[t.id].renamed_to = answer["full_name"]
        return repos

    def _wave_refs(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        repos: dict[str, dict[str, Any]],
    ) -> None:
        """Resolve each artifact's refs to the commit to read at and the commit to track."""
        wanted: set[RepoRef] = set()
        for t in self._live(targets, results):
            if t.at_commit:
                continue  # read at the commit an approval names: no ref to resolve
            repo = repos[self._name(t)]
            wanted.add(RepoRef(self._name(t), repo.get("default_branch") or "main"))
            if t.source.ref and not t.source.pinned_to_sha:
                wanted.add(RepoRef(self._name(t), t.source.ref))

        def ref_path(name: str, ref: str, kind: str) -> str:
            return f"/repos/{name}/git/ref/{kind}/{ref}"

        heads = self._fetch_all(
            {key: Fetch(ref_path(*key, "heads"), None, False) for key in wanted}
        )
        resolved: dict[RepoRef, ResolvedRef | Exception] = {}
        missing: list[RepoRef] = []
        for key, answer in heads.items():
            if isinstance(answer, ReadFailed) and answer.code == "upstream_not_found":
                missing.append(key)
            elif isinstance(answer, Exception):
                resolved[key] = answer
            else:
                resolved[key] = ResolvedRef("branch", answer["object"]["sha"])
        # A ref that is not a branch may be a tag; annotated tags point at a tag object first.
        tags = self._fetch_all({key: Fetch(ref_path(*key, "tags"), None, False) for key in missing})
        annotated: dict[RepoRef, str] = {}
        for key, answer in tags.items():
            if isinstance(answer, ReadFailed) and answer.code == "upstream_not_found":
                resolved[key] = ReadFailed(
                    "upstream_not_found", f"no branch or tag named {key.ref!r} in {key.repo}"
                )
            elif isinstance(answer, Exception):
                resolved[key] = answer
            elif answer["object"]["type"] == "tag":
                annotated[key] = answer["object"]["sha"]
            else:
                resolved[key] = ResolvedRef("tag", answer["object"]["sha"])
        objects = self._fetch_all(
            {
                key: Fetch(f"/repos/{key.repo}/git/tags/{sha}", None, True)
                for key, sha in annotated.items()
            }
        )
        for key, answer in objects.items():
            resolved[key] = (
                answer
                if isinstance(answer, Exception)
                else ResolvedRef("tag", answer["object"]["sha"])
            )

        for t in self._live(targets, results):
            name, source, item = self._name(t), t.source, results[t.id]
            if t.at_commit:
                # An approval: the reviewed commit, taken as the head it was then. A commit the
                # repository does not have is not found when its tree is asked for.
                item.read_sha = item.tracked_sha = t.at_commit
                continue
            default = resolved[RepoRef(name, repos[name].get("default_branch") or "main")]
            if isinstance(default, Exception):
                self._fail(item, default)
                continue
            own: ResolvedRef | None = None
            if source.ref and not source.pinned_to_sha:
                found = resolved[RepoRef(name, source.ref)]
                if isinstance(found, Exception):
                    self._fail(item, found)
                    continue
                own = found
            place_at_refs(item, source, default_sha=default.sha, own=own)

    def _wave_trees(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
    ) -> dict[RepoCommit, _Tree | Exception]:
        commits: set[RepoCommit] = set()
        for t in self._live(targets, results):
            item = results[t.id]
            commits.add(RepoCommit(self._name(t), item.read_sha))
            commits.add(RepoCommit(self._name(t), item.tracked_sha))
        answers = self._fetch_all(
            {
                key: Fetch(f"/repos/{key.repo}/git/trees/{key.commit}", {"recursive": "1"}, True)
                for key in commits
            }
        )
        trees: dict[RepoCommit, _Tree | Exception] = {}
        for key, answer in answers.items():
            if isinstance(answer, ReadFailed) and answer.code == "upstream_unavailable":
                # A big repository's recursive tree can time out or answer 502 where the
                # artifact's own directories still read fine.
                trees[key] = _Tree("", {}, truncated=True, failed=answer)
                continue
            if isinstance(answer, Exception):
                trees[key] = answer
                continue
            entries = {e["path"]: _entry(_tree_kind(e), e) for e in answer.get("tree", [])}
            trees[key] = _Tree(answer["sha"], entries, bool(answer.get("truncated")))
        return trees

    def _wave_listings(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        trees: dict[RepoCommit, _Tree | Exception],
    ) -> dict[RepoDir, dict[str, Entry] | Exception]:
        """Directory listings (Contents API) where a recursive tree was cut or could not be read.

        Every lookup of a path reads its parent directory's listing, so the listings needed
        are known before any is read: they go out as one wave like the other reads.
        """
        needed: set[RepoDir] = set()
        for t in self._live(targets, results):
            item, name, path = results[t.id], self._name(t), t.source.path
            for commit in {item.read_sha, item.tracked_sha}:
                tree = trees.get(RepoCommit(name, commit))
                if not isinstance(tree, _Tree) or not tree.truncated:
                    continue
                for wanted in [path, *main_file_candidates(t.type, path)]:
                    if wanted:
                        needed.add(RepoDir(name, commit, _parent(wanted)))

        def url(name: str, directory: str) -> str:
            return f"/repos/{name}/contents/{directory}".rstrip("/")

        answers = self._fetch_all(
            {key: Fetch(url(key.repo, key.directory), {"ref": key.commit}, True) for key in needed}
        )
        listings: dict[RepoDir, dict[str, Entry] | Exception] = {}
        for key, answer in answers.items():
            if isinstance(answer, Exception):
                listings[key] = answer
            else:
                items = answer if isinstance(answer, list) else [answer]
                listings[key] = {e["path"]: _entry(_contents_kind(e), e) for e in items}
        return listings

    def _locate(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        trees: dict[RepoCommit, _Tree | Exception],
        listings: dict[RepoDir, dict[str, Entry] | Exception],
    ) -> None:
        """Find each artifact's path SHA and main file blob at the commits it needs.

        The tree entries carry each blob's size, so a main file over the size cap is
        `file_too_large` before anything is downloaded.
        """
        for t in self._live(targets, results):
            item, name, path = results[t.id], self._name(t), t.source.path
            view = _View(name, trees, listings)
            try:
                found = view.lookup(item.read_sha, path)
                if found is None:
                    raise ReadFailed(
                        "upstream_not_found",
                        f"{path!r} does not exist in {name}@{item.read_sha[:7]}",
                    )
                item.read_path_sha = found.sha
                item.main_file, item.blob_sha, size = self._main_file(t, view, item.read_sha)
                if size > MAX_FILE_BYTES:
                    raise ReadFailed(
                        "file_too_large",
                        f"{item.main_file} is {size} bytes; at most {MAX_FILE_BYTES} are read",
                    )
                if item.tracked_sha == item.read_sha:
                    item.tracked_path_sha = item.read_path_sha
                else:
                    tracked = view.lookup(item.tracked_sha, path)
                    # A path gone from the tracked branch is an update of its own kind.
                    item.tracked_path_sha = tracked.sha if tracked else ""
            except (ReadFailed, ReadSkipped) as exc:
                self._fail(item, exc)

    @staticmethod
    def _main_file(target: Target, view: "_View", commit: str) -> MainFile:
        name = view.name
        candidates = main_file_candidates(target.type, target.source.path)
        for candidate in candidates:
            found = view.lookup(commit, candidate)
            if found and found.kind == "file":
                return MainFile(candidate, found.sha, found.size)
            if found and found.kind == "link":
                raise ReadFailed(
                    "upstream_not_found",
                    f"{candidate} in {name}@{commit[:7]} is a symbolic link, which is not followed",
                )
        raise ReadFailed(
            "upstream_not_found", f"no {' or '.join(candidates)} in {name}@{commit[:7]}"
        )

    def _wave_blobs(self, targets: list[Target], results: dict[uuid.UUID, Reading]) -> None:
        live = self._live(targets, results)
        blobs = {RepoBlob(self._name(t), results[t.id].blob_sha) for t in live}
        answers = self._fetch_all(
            {key: Fetch(f"/repos/{key.repo}/git/blobs/{key.sha}", None, True) for key in blobs}
        )
        for t in self._live(targets, results):
            item = results[t.id]
            answer = answers[RepoBlob(self._name(t), item.blob_sha)]
            if isinstance(answer, Exception):
                self._fail(item, answer)
                continue
            try:
                item.data = base64.b64decode(answer.get("content") or "")
            except (ValueError, TypeError):
                self._fail(
                    item, ReadFailed("upstream_unavailable", "GitHub sent an undecodable blob")
                )
                continue
            self._done(item)

    # -- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _live(targets: list[Target], results: dict[uuid.UUID, Reading]) -> list[Target]:
        return [t for t in targets if results[t.id].error is None and results[t.id].skipped is None]

    def _fail(self, item: Reading, exc: Exception) -> None:
        if isinstance(exc, ReadSkipped):
            item.skipped = exc
        elif isinstance(exc, ReadFailed):
            item.error = exc
        else:  # pragma: no cover - _fetch only raises the two above
            item.error = ReadFailed("upstream_unavailable", str(exc))
        self._done(item)

    def _done(self, item: Reading) -> None:
        item.duration_ms = int((time.monotonic() - self._started) * 1000)
        if self.on_progress:
            self.on_progress(1)

    def fetch_many[K](self, requests: Mapping[K, Fetch]) -> dict[K, Any]:
        """Fetch paths in parallel outside a read's waves (the review of an update); each value
        is the answer's body or the exception. What they spent is shared at the end."""
        if not requests:
            return {}
        with ThreadPoolExecutor(max_workers=self.concurrency, initializer=carry_context()) as pool:
            self._pool = pool
            answers = self._fetch_all(dict(requests))
        self.client.quota.sync(final=True)
        return answers

    def _fetch_all(self, requests: dict[Any, Fetch]) -> dict[Any, Any]:
        """Fetch many paths in parallel; each value is the answer's body or the exception."""
        if not requests:
            return {}
        # A pause or an exhausted quota another process met since the last wave stops this one.
        self.client.quota.sync(if_sent=True)
        self.cache.prefetch({cache_key(path, params) for path, params, _ in requests.values()})

        def one(item: tuple[Any, Fetch]) -> tuple[Any, Any]:
            key, (path, params, immutable) = item
            try:
                return key, self._fetch(path, params, immutable)
            except (ReadFailed, ReadSkipped) as exc:
                return key, exc

        return dict(self._pool.map(one, requests.items()))

    def _fetch(self, path: str, params: dict[str, str] | None, immutable: bool) -> Any:
        key = cache_key(path, params)
        cached = self.cache.get(key)
        if immutable and cached is not None:
            return cached.body
        if self._stop is not None:
            raise self._stop
        try:
            response = self.client.get(
                path,
                params=params,
                etag=cached.etag if cached else "",
                last_modified=cached.last_modified if cached else "",
                deadline=self.deadline,
            )
        except GitHubError as exc:
            raise self._classify(exc) from None
        self._transient_failures = 0
        if response.status == 304 and cached is not None:
            return cached.body
        self.cache.put(
            key, CachedAnswer(response.data, response.etag, response.last_modified, immutable)
        )
        return response.data

    def _classify(self, exc: GitHubError) -> ReadFailed | ReadSkipped:
        if exc.deadline:
            # The client refuses to start, retry or wait for a read past the deadline.
            return ReadSkipped("deadline_exceeded", "the refresh ran out of time for this read")
        if exc.code == "upstream_unauthorized":
            # The token is refused: every later request would be refused the same way.
            self._stop = ReadFailed(
                "upstream_unauthorized",
                self.read_as.refused("401 Bad credentials; nothing more was read with it"),
            )
            return ReadFailed(exc.code, self.read_as.refused(exc.message))
        if exc.code == "rate_limited":
            reset = exc.reset_at.isoformat().replace("+00:00", "Z") if exc.reset_at else None
            stop = ReadSkipped(
                "rate_limited",
                f"GitHub's rate limit is exhausted{f' until {reset}' if reset else ''}",
            )
            self._stop = stop
            return ReadFailed("rate_limited", exc.message)
        if not exc.permanent:
            self._transient_failures += 1
            if self._transient_failures >= CIRCUIT_BREAKER_FAILURES:
                self._stop = ReadFailed(
                    "upstream_unavailable", f"GitHub is unavailable; gave up after: {exc.message}"
                )
        return ReadFailed(exc.code, exc.message)
