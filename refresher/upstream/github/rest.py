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
from typing import Protocol

from refresher.exceptions import ReadFailed, ReadSkipped
from refresher.frontmatter import MAX_FILE_BYTES
from refresher.upstream.access import SITE_TOKEN, ReadAs
from refresher.upstream.github.client import GitHubError, GitHubResponse, RateLimit
from refresher.upstream.github.governor import QuotaGovernor
from refresher.upstream.github.rest_tree import (
    Entry,
    Fetch,
    MainFile,
    RepoBlob,
    RepoCommit,
    RepoDir,
    RepoRef,
    ResolvedRef,
    Tree,
    View,
    contents_kind,
    entry_of,
    parent_dir,
    tree_kind,
    valid_name,
)
from refresher.upstream.github.shapes import (
    RestBlob,
    RestContentsEntry,
    RestGitObject,
    RestRef,
    RestRepository,
    RestTree,
    as_object,
    as_shape,
)
from refresher.upstream.httpcache import CachedAnswer, HttpCache, cache_key
from refresher.upstream.reads import (
    Reading,
    Target,
    UpstreamRead,
    freeze_all,
    main_file_candidates,
    place_at_refs,
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
    ) -> dict[str, RestRepository]:
        names = sorted({self._name(t) for t in targets})
        answers = self._fetch_all({n: Fetch(f"/repos/{n}", None, False) for n in names})
        for name, answer in answers.items():
            current = answer.get("full_name") if isinstance(answer, dict) else None
            if isinstance(current, str) and current.lower() != name and valid_name(current):
                # GitHub redirected the old name: the rest of the run asks for the new one.
                self._names[name] = current.lower()
        repos: dict[str, RestRepository] = {}
        for t in targets:
            key = t.source.full_name.lower()
            answer = answers[key]
            if (
                not isinstance(answer, Exception)
                and as_shape(answer, RestRepository).get("private")
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
            repos[self._name(t)] = as_shape(answer, RestRepository)
            results[t.id].repository = as_object(answer)
            if key in self._names:
                results[t.id].renamed_to = as_shape(answer, RestRepository).get("full_name", "")
        return repos

    def _wave_refs(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        repos: dict[str, RestRepository],
    ) -> None:
        """Resolve each artifact's refs to the commit to read at and the commit to track."""
        wanted: set[RepoRef] = set()
        for t in self._live(targets, results):
            if t.at_commit:
                continue  # read at the commit an approval names: no ref to resolve
            wanted.add(RepoRef(self._name(t), _default_branch(repos[self._name(t)])))
            if t.source.ref and not t.source.pinned_to_sha:
                wanted.add(RepoRef(self._name(t), t.source.ref))
        resolved = self._resolve_refs(wanted)
        for t in self._live(targets, results):
            self._place(t, results[t.id], repos, resolved)

    def _resolve_refs(self, wanted: set[RepoRef]) -> dict[RepoRef, ResolvedRef | Exception]:
        """Each ref as a branch; what is no branch, as a tag."""
        heads = self._fetch_all(
            {key: Fetch(_ref_path(key, "heads"), None, False) for key in wanted}
        )
        resolved: dict[RepoRef, ResolvedRef | Exception] = {}
        missing: list[RepoRef] = []
        for key, answer in heads.items():
            if isinstance(answer, ReadFailed) and answer.code == "upstream_not_found":
                missing.append(key)
            elif isinstance(answer, Exception):
                resolved[key] = answer
            else:
                resolved[key] = ResolvedRef("branch", _pointed_at(answer).get("sha") or "")
        resolved.update(self._resolve_tags(missing))
        return resolved

    def _resolve_tags(self, refs: list[RepoRef]) -> dict[RepoRef, ResolvedRef | Exception]:
        """Refs as tags; annotated tags point at a tag object first, read to its commit."""
        tags = self._fetch_all({key: Fetch(_ref_path(key, "tags"), None, False) for key in refs})
        resolved: dict[RepoRef, ResolvedRef | Exception] = {}
        annotated: dict[RepoRef, str] = {}
        for key, answer in tags.items():
            if isinstance(answer, ReadFailed) and answer.code == "upstream_not_found":
                resolved[key] = ReadFailed(
                    "upstream_not_found", f"no branch or tag named {key.ref!r} in {key.repo}"
                )
            elif isinstance(answer, Exception):
                resolved[key] = answer
            elif _pointed_at(answer).get("type") == "tag":
                annotated[key] = _pointed_at(answer).get("sha") or ""
            else:
                resolved[key] = ResolvedRef("tag", _pointed_at(answer).get("sha") or "")
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
                else ResolvedRef("tag", _pointed_at(answer).get("sha") or "")
            )
        return resolved

    def _place(
        self,
        target: Target,
        item: Reading,
        repos: dict[str, RestRepository],
        resolved: dict[RepoRef, ResolvedRef | Exception],
    ) -> None:
        """The commits one artifact is read at and tracks, from its resolved refs."""
        name, source = self._name(target), target.source
        if target.at_commit:
            # An approval: the reviewed commit, taken as the head it was then. A commit the
            # repository does not have is not found when its tree is asked for.
            item.read_sha = item.tracked_sha = target.at_commit
            return
        default = resolved[RepoRef(name, _default_branch(repos[name]))]
        if isinstance(default, Exception):
            self._fail(item, default)
            return
        own: ResolvedRef | None = None
        if source.ref and not source.pinned_to_sha:
            found = resolved[RepoRef(name, source.ref)]
            if isinstance(found, Exception):
                self._fail(item, found)
                return
            own = found
        place_at_refs(item, source, default_sha=default.sha, own=own)

    def _wave_trees(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
    ) -> dict[RepoCommit, Tree | Exception]:
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
        trees: dict[RepoCommit, Tree | Exception] = {}
        for key, answer in answers.items():
            if isinstance(answer, ReadFailed) and answer.code == "upstream_unavailable":
                # A big repository's recursive tree can time out or answer 502 where the
                # artifact's own directories still read fine.
                trees[key] = Tree("", {}, truncated=True, failed=answer)
                continue
            if isinstance(answer, Exception):
                trees[key] = answer
                continue
            tree = as_shape(answer, RestTree)
            entries = {e.get("path", ""): entry_of(tree_kind(e), e) for e in tree.get("tree", [])}
            trees[key] = Tree(tree.get("sha", ""), entries, bool(tree.get("truncated")))
        return trees

    def _wave_listings(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        trees: dict[RepoCommit, Tree | Exception],
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
                if not isinstance(tree, Tree) or not tree.truncated:
                    continue
                for wanted in [path, *main_file_candidates(t.type, path)]:
                    if wanted:
                        needed.add(RepoDir(name, commit, parent_dir(wanted)))

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
                items = _contents(answer)
                listings[key] = {e.get("path", ""): entry_of(contents_kind(e), e) for e in items}
        return listings

    def _locate(
        self,
        targets: list[Target],
        results: dict[uuid.UUID, Reading],
        trees: dict[RepoCommit, Tree | Exception],
        listings: dict[RepoDir, dict[str, Entry] | Exception],
    ) -> None:
        """Find each artifact's path SHA and main file blob at the commits it needs.

        The tree entries carry each blob's size, so a main file over the size cap is
        `file_too_large` before anything is downloaded.
        """
        for t in self._live(targets, results):
            item, name, path = results[t.id], self._name(t), t.source.path
            view = View(name, trees, listings)
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
    def _main_file(target: Target, view: View, commit: str) -> MainFile:
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
                item.data = base64.b64decode(as_shape(answer, RestBlob).get("content") or "")
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

    def fetch_many[K](self, requests: Mapping[K, Fetch]) -> dict[K, object]:
        """Fetch paths in parallel outside a read's waves (the review of an update); each value
        is the answer's body or the exception. What they spent is shared at the end."""
        if not requests:
            return {}
        with ThreadPoolExecutor(max_workers=self.concurrency, initializer=carry_context()) as pool:
            self._pool = pool
            answers = self._fetch_all(dict(requests))
        self.client.quota.sync(final=True)
        return answers

    def _fetch_all[K](self, requests: Mapping[K, Fetch]) -> dict[K, object]:
        """Fetch many paths in parallel; each value is the answer's body (JSON, read through
        `shapes`) or the `ReadFailed`/`ReadSkipped` that kept it."""
        if not requests:
            return {}
        # A pause or an exhausted quota another process met since the last wave stops this one.
        self.client.quota.sync(if_sent=True)
        self.cache.prefetch({cache_key(path, params) for path, params, _ in requests.values()})

        def one(item: tuple[K, Fetch]) -> tuple[K, object]:
            key, (path, params, immutable) = item
            try:
                return key, self._fetch(path, params, immutable)
            except (ReadFailed, ReadSkipped) as exc:
                return key, exc

        return dict(self._pool.map(one, requests.items()))

    def _fetch(self, path: str, params: dict[str, str] | None, immutable: bool) -> object:
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


def _ref_path(key: RepoRef, kind: str) -> str:
    return f"/repos/{key.repo}/git/ref/{kind}/{key.ref}"


def _default_branch(repo: RestRepository) -> str:
    return repo.get("default_branch") or "main"


def _pointed_at(answer: object) -> RestGitObject:
    """What a ref or a tag object points at (`object`: its SHA and type)."""
    return as_shape(answer, RestRef).get("object") or {}


def _contents(answer: object) -> list[RestContentsEntry]:
    """A Contents API answer's entries: a directory's list, or the one file asked for."""
    if isinstance(answer, list):
        return [as_shape(e, RestContentsEntry) for e in answer]
    return [as_shape(answer, RestContentsEntry)]
