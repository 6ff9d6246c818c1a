"""Git sources of any host, read with the git command line (SPEC section 12).

The read plan mirrors GitHub's: per repository once per run `git ls-remote` (the default branch,
branch heads and tags), then one shallow partial fetch (`--filter=blob:none --depth=1`) of the
commits the run needs into a bare cache repository under GIT_CACHE_DIR, `ls-tree` for each
commit's tree, and one batched fetch and `cat-file --batch` for the main files' blobs. Objects
already in the cache are not fetched again, so a warm refresh of an unchanged repository costs one
`ls-remote`. Modes, pins, update detection and entry codes are the same as for GitHub sources:
the provider answers with the same `UpstreamRead`s.
"""

import fcntl
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from refresher.exceptions import ReadFailed, ReadSkipped
from refresher.frontmatter import MAX_FILE_BYTES
from refresher.json_types import JSONObject
from refresher.sources import SHA_RE, Source, SourceKind
from refresher.upstream.access import Access, GitCredential
from refresher.upstream.browse import Snapshot
from refresher.upstream.git.cli import Git, GitFailed, GitLogin
from refresher.upstream.git.review import GitReview
from refresher.upstream.inspect import History, HistoryAsk, Inspect, Inspection
from refresher.upstream.provider import ReadContext
from refresher.upstream.reads import (
    Reading,
    Target,
    UpstreamRead,
    freeze_all,
    main_file_candidates,
)

_KINDS = {"tree": "dir", "blob": "file", "commit": "other"}


def cache_name(url: str) -> str:
    """The cache repository's directory name: a hash of the URL, never the URL itself."""
    return hashlib.sha256(url.encode()).hexdigest()[:40] + ".git"


@dataclass(frozen=True)
class RemoteRefs:
    """What `git ls-remote` said: the default branch, branch heads and tags (peeled to commits)."""

    default_branch: str
    heads: dict[str, str]
    tags: dict[str, str]

    def resolve(self, ref: str) -> tuple[str, str] | None:
        """("branch" | "tag", commit) for a branch or tag name, None when it is neither."""
        if ref in self.heads:
            return "branch", self.heads[ref]
        if ref in self.tags:
            return "tag", self.tags[ref]
        return None


def parse_ls_remote(text: str) -> RemoteRefs:
    symref, head_sha = "", ""
    heads: dict[str, str] = {}
    tags: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in text.splitlines():
        left, _, name = line.partition("\t")
        if left.startswith("ref: "):
            if name == "HEAD":
                symref = left[len("ref: ") :].removeprefix("refs/heads/")
            continue
        sha = left.strip()
        if not SHA_RE.match(sha):
            continue
        if name == "HEAD":
            head_sha = sha
        elif name.startswith("refs/heads/"):
            heads[name[len("refs/heads/") :]] = sha
        elif name.startswith("refs/tags/"):
            tag = name[len("refs/tags/") :]
            if tag.endswith("^{}"):
                peeled[tag[:-3]] = sha  # an annotated tag's commit
            else:
                tags[tag] = sha
    tags.update(peeled)
    default = symref
    if not default and head_sha:
        # A server that does not advertise the symref: the branch HEAD points at.
        matching = sorted(n for n, s in heads.items() if s == head_sha)
        default = next((n for n in ("main", "master") if n in matching), "") or (
            matching[0] if matching else ""
        )
    return RemoteRefs(default, heads, tags)


@dataclass
class _Tree:
    sha: str
    entries: dict[str, tuple[str, str]]

    def lookup(self, path: str) -> tuple[str, str] | None:
        return ("dir", self.sha) if not path else self.entries.get(path)


@dataclass
class GitRepository:
    """One upstream repository during one run: its refs, its cache repository, its trees."""

    git: Git
    url: str
    path: Path
    deadline: float | None = None
    # What git sends to the host (the collection's login for it), and how messages name it.
    login: GitLogin | None = None
    who: str = ""
    _refs: RemoteRefs | None = None
    _present: set[str] | None = None
    _trees: dict[str, _Tree] = field(default_factory=dict)

    def _timeout(self) -> float | None:
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ReadSkipped("deadline_exceeded", "the refresh ran out of time for this read")
        return left

    def _run(self, args: list[str], *, stdin: bytes | None = None) -> bytes:
        try:
            return self.git.run(
                args, git_dir=self.path, stdin=stdin, timeout=self._timeout(), login=self.login
            )
        except GitFailed as exc:
            if exc.code == "upstream_unauthorized":
                raise ReadFailed(
                    exc.code, f"{self.url}: the host refused {self.who}: {exc.message}"
                ) from None
            raise ReadFailed(exc.code, f"{self.url}: {exc.message}") from None

    def prepare(self) -> None:
        """Create the bare cache repository once; its only remote is the upstream URL."""
        if (self.path / "HEAD").exists():
            return
        # Built aside and moved into place, so a half-made cache repository (one without its
        # remote) is never left where the next run would use it. The directory's name is a
        # hash of the URL, so the remote is set once, here.
        staging = self.path.with_name(f"{self.path.name}.new-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        self.git.run(["init", "--quiet", "--bare", "--", str(staging)])
        self.git.run(["config", "remote.origin.url", self.url], git_dir=staging)
        shutil.rmtree(self.path, ignore_errors=True)
        os.replace(staging, self.path)

    def refs(self) -> RemoteRefs:
        if self._refs is None:
            out = self._run(["ls-remote", "--symref", "origin"])
            refs = parse_ls_remote(out.decode("utf-8", "replace"))
            if not refs.default_branch or refs.default_branch not in refs.heads:
                raise ReadFailed("upstream_not_found", f"{self.url} has no branches (empty?)")
            self._refs = refs
        return self._refs

    def present(self) -> set[str]:
        """Objects already in the cache. Listed, not probed: probing a missing object of a
        partial clone would make git fetch it, one round trip per object."""
        if self._present is None:
            out = self._run(["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"])
            self._present = set(out.decode().split())
        return self._present

    def fetch_commits(self, commits: Iterable[str]) -> None:
        """One shallow, blob-less fetch of the commits not yet in the cache."""
        missing = sorted(set(commits) - self.present())
        if not missing:
            return
        self._run(
            [
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--filter=blob:none",
                "--depth=1",
                "origin",
                *missing,
            ]
        )
        self._present = None

    def tree(self, commit: str) -> _Tree:
        if commit not in self._trees:
            root = self._run(["rev-parse", "--verify", "--end-of-options", f"{commit}^{{tree}}"])
            out = self._run(["ls-tree", "-r", "-t", "-z", "--full-tree", commit])
            entries: dict[str, tuple[str, str]] = {}
            for record in out.split(b"\0"):
                if not record:
                    continue
                meta, _, name = record.partition(b"\t")
                mode, kind, sha = meta.decode().split(" ")
                path = name.decode("utf-8", "surrogateescape")
                entries[path] = ("link" if mode == "120000" else _KINDS.get(kind, "other"), sha)
            self._trees[commit] = _Tree(root.decode().strip(), entries)
        return self._trees[commit]

    def blobs(self, shas: Iterable[str]) -> dict[str, bytes | ReadFailed]:
        """The blobs' contents: the missing ones fetched in one go, then read in one batch."""
        wanted = sorted(set(shas))
        if not wanted:
            return {}
        missing = [sha for sha in wanted if sha not in self.present()]
        if missing:
            self._run(
                [
                    "fetch",
                    "--quiet",
                    "--no-tags",
                    "--no-write-fetch-head",
                    "--filter=blob:none",
                    "--stdin",
                    "origin",
                ],
                stdin="".join(f"{sha}\n" for sha in missing).encode(),
            )
            self._present = None
        sizes = self._batch_check(wanted)
        out: dict[str, bytes | ReadFailed] = {}
        small = []
        for sha in wanted:
            size = sizes.get(sha)
            if size is None:
                out[sha] = ReadFailed("upstream_not_found", f"blob {sha[:7]} is not in {self.url}")
            elif size > MAX_FILE_BYTES:
                out[sha] = ReadFailed(
                    "file_too_large", f"the file is {size} bytes; at most {MAX_FILE_BYTES} are read"
                )
            else:
                small.append(sha)
        if small:
            out.update(_parse_batch(self._run(["cat-file", "--batch"], stdin=_lines(small))))
        return out

    def _batch_check(self, shas: list[str]) -> dict[str, int]:
        # Only asked for objects that are present now, so nothing is fetched lazily here.
        present = self.present()
        asked = [sha for sha in shas if sha in present]
        if not asked:
            return {}
        out = self._run(["cat-file", "--batch-check"], stdin=_lines(asked))
        sizes = {}
        for line in out.decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "blob":
                sizes[parts[0]] = int(parts[2])
        return sizes


def _lines(shas: list[str]) -> bytes:
    return "".join(f"{sha}\n" for sha in shas).encode()


def _parse_batch(data: bytes) -> dict[str, bytes | ReadFailed]:
    out: dict[str, bytes | ReadFailed] = {}
    pos = 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        header = data[pos:end].decode().split()
        pos = end + 1
        if len(header) != 3:
            out[header[0]] = ReadFailed("upstream_not_found", f"blob {header[0][:7]} is missing")
            continue
        size = int(header[2])
        out[header[0]] = data[pos : pos + size]
        pos += size + 1
    return out


class GitRepositories:
    """The cache directory: one bare repository per URL, each used by one process at a time."""

    def __init__(self, git: Git, root: Path) -> None:
        self.git = git
        self.root = root

    @contextmanager
    def open(
        self,
        url: str,
        *,
        deadline: float | None = None,
        login: GitLogin | None = None,
        who: str = "",
    ) -> Iterator[GitRepository]:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / cache_name(url)
        # Two workers fetching into one repository would trip over git's own lock files.
        with open(self.root / (path.name + ".lock"), "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                repo = GitRepository(self.git, url, path, deadline, login, who)
                try:
                    repo.prepare()
                except GitFailed as exc:
                    raise ReadFailed(exc.code, exc.message) from None
                yield repo
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def resolve_commits(refs: RemoteRefs, source: Source) -> tuple[str, str, bool]:
    """(commit to read at, commit to track, pinned) exactly as for GitHub sources."""
    default = refs.heads[refs.default_branch]
    if source.pinned_to_sha:
        return source.ref, default, True
    if not source.ref:
        return default, default, False
    found = refs.resolve(source.ref)
    if found is None:
        raise ReadFailed(
            "upstream_not_found", f"no branch or tag named {source.ref!r} in {source.url}"
        )
    kind, sha = found
    return (sha, sha, False) if kind == "branch" else (sha, default, True)


def repository_info(source: Source) -> JSONObject:
    """What stands in for GitHub's repository answer: the path's owner segment as the author
    fallback. No `license` or `topics` key: those come from the frontmatter only."""
    return {"owner": {"login": source.owner}, "full_name": source.url}


def login_for(access: Access, source: Source) -> tuple[GitLogin | None, GitCredential | None]:
    """The collection's login for the source's host and port (SPEC 16), as git takes it."""
    credential = access.git_login_for(source.host) if source.host else None
    if credential is None:
        return None, None
    login = GitLogin(credential.host, credential.username, credential.password)
    return login, credential


class GitReader:
    def __init__(
        self, repositories: GitRepositories, context: ReadContext, used: set[uuid.UUID]
    ) -> None:
        self.repositories = repositories
        self.context = context
        self.used = used
        self._started = time.monotonic()

    def read(self, targets: Sequence[Target]) -> dict[uuid.UUID, UpstreamRead]:
        results = {t.id: Reading() for t in targets}
        by_url: dict[str, list[Target]] = {}
        for target in targets:
            by_url.setdefault(target.source.url, []).append(target)
        workers = max(1, min(self.context.concurrency, len(by_url)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda url: self._read_repository(url, by_url[url], results), by_url))
        return freeze_all(results)

    def _read_repository(
        self, url: str, targets: list[Target], results: dict[uuid.UUID, Reading]
    ) -> None:
        try:
            if self.context.deadline is not None and time.monotonic() >= self.context.deadline:
                raise ReadSkipped("deadline_exceeded", "the refresh ran out of time for this read")
            login, credential = login_for(self.context.access, targets[0].source)
            who = credential.ref.describe() if credential else ""
            if credential is not None:
                self.used.add(credential.ref.id)
                if credential.refused:
                    raise ReadFailed(
                        "upstream_unauthorized", f"{who}: {credential.refused}; nothing was sent"
                    )
            with self.repositories.open(
                url, deadline=self.context.deadline, login=login, who=who
            ) as repo:
                self._read_in(repo, targets, results)
        except (ReadFailed, ReadSkipped) as exc:
            for target in targets:
                item = results[target.id]
                if item.error is None and item.skipped is None and item.data is None:
                    self._fail(item, exc)

    def _read_in(
        self, repo: GitRepository, targets: list[Target], results: dict[uuid.UUID, Reading]
    ) -> None:
        refs = repo.refs()
        live: list[Target] = []
        for target in targets:
            item = results[target.id]
            item.repository = repository_info(target.source)
            try:
                if target.at_commit:
                    # An approval: the reviewed commit, taken as the head it was then.
                    item.read_sha = item.tracked_sha = target.at_commit
                else:
                    resolved = resolve_commits(refs, target.source)
                    item.read_sha, item.tracked_sha, item.pinned = resolved
                live.append(target)
            except ReadFailed as exc:
                self._fail(item, exc)
        commits = {results[t.id].read_sha for t in live} | {results[t.id].tracked_sha for t in live}
        missing = self._fetch(repo, commits)
        for target in list(live):
            item = results[target.id]
            if item.read_sha in missing:
                live.remove(target)
                self._fail(
                    item,
                    ReadFailed("upstream_not_found", f"no commit {item.read_sha} in {repo.url}"),
                )
        located: list[Target] = []
        for target in live:
            item = results[target.id]
            try:
                self._locate(repo, target, item)
                located.append(target)
            except ReadFailed as exc:
                self._fail(item, exc)
        blobs = repo.blobs(results[t.id].blob_sha for t in located)
        for target in located:
            item = results[target.id]
            answer = blobs.get(item.blob_sha)
            if isinstance(answer, bytes):
                item.data = answer
                self._done(item)
            else:
                self._fail(item, answer or ReadFailed("upstream_not_found", "blob missing"))

    @staticmethod
    def _fetch(repo: GitRepository, commits: set[str]) -> set[str]:
        """Fetch the commits in one go; the ones upstream does not have (a pin to a SHA that
        is not there) are returned, so only their artifacts fail."""
        try:
            repo.fetch_commits(commits)
            return set()
        except ReadFailed as exc:
            if exc.code != "upstream_not_found" or len(commits) == 1:
                if len(commits) == 1 and exc.code == "upstream_not_found":
                    return set(commits)
                raise
        missing = set()
        for commit in sorted(commits):
            try:
                repo.fetch_commits([commit])
            except ReadFailed as exc:
                if exc.code != "upstream_not_found":
                    raise
                missing.add(commit)
        return missing

    @staticmethod
    def _locate(repo: GitRepository, target: Target, item: Reading) -> None:
        path, url = target.source.path, repo.url
        tree = repo.tree(item.read_sha)
        found = tree.lookup(path)
        if found is None:
            raise ReadFailed(
                "upstream_not_found", f"{path!r} does not exist in {url}@{item.read_sha[:7]}"
            )
        item.read_path_sha = found[1]
        candidates = main_file_candidates(target.type, path)
        for candidate in candidates:
            entry = tree.lookup(candidate)
            if entry and entry[0] == "file":
                item.main_file, item.blob_sha = candidate, entry[1]
                break
            if entry and entry[0] == "link":
                raise ReadFailed(
                    "upstream_not_found",
                    f"{candidate} in {url}@{item.read_sha[:7]} is a symbolic link, "
                    "which is not followed",
                )
        else:
            raise ReadFailed(
                "upstream_not_found", f"no {' or '.join(candidates)} in {url}@{item.read_sha[:7]}"
            )
        if item.tracked_sha == item.read_sha:
            item.tracked_path_sha = item.read_path_sha
        else:
            tracked = repo.tree(item.tracked_sha).lookup(path)
            # A path gone from the tracked branch is an update of its own kind.
            item.tracked_path_sha = tracked[1] if tracked else ""

    def _fail(self, item: Reading, exc: ReadFailed | ReadSkipped) -> None:
        if isinstance(exc, ReadSkipped):
            item.skipped = exc
        else:
            item.error = exc
        self._done(item)

    def _done(self, item: Reading) -> None:
        item.duration_ms = int((time.monotonic() - self._started) * 1000)
        if self.context.on_progress:
            self.context.on_progress(1)


class GitBrowser:
    """Discovery's view of a git repository: its tree at a ref, and blobs in one batch."""

    def __init__(
        self, repositories: GitRepositories, context: ReadContext, used: set[uuid.UUID]
    ) -> None:
        self.repositories = repositories
        self.context = context
        self.used = used
        # The login each snapshot's repository was read with: its blobs are read with it too.
        self._logins: dict[str, tuple[GitLogin | None, str]] = {}

    def snapshot(self, source: Source) -> Snapshot:
        login, credential = login_for(self.context.access, source)
        who = credential.ref.describe() if credential else ""
        if credential is not None:
            self.used.add(credential.ref.id)
            if credential.refused:
                raise ReadFailed("upstream_unauthorized", f"{who}: {credential.refused}")
        self._logins[source.url] = (login, who)
        with self.repositories.open(
            source.url, deadline=self.context.deadline, login=login, who=who
        ) as repo:
            refs = repo.refs()
            commit, _, _ = resolve_commits(refs, source)
            repo.fetch_commits([commit])
            tree = repo.tree(commit)
        return Snapshot(
            source=source,
            commit=commit,
            ref=source.ref or refs.default_branch,
            entries=dict(tree.entries),
            repository=repository_info(source),
            handle=source.url,
        )

    def read_blobs(self, snapshot: Snapshot, shas: Iterable[str]) -> dict[str, bytes | ReadFailed]:
        login, who = self._logins.get(snapshot.handle, (None, ""))
        with self.repositories.open(
            snapshot.handle, deadline=self.context.deadline, login=login, who=who
        ) as repo:
            return repo.blobs(shas)


class GitProvider:
    """Git sources (`git+https://`, `git+file://`) through the git command line.

    Git hosts have no quota to share: the provider is never unavailable and has no rate limit.
    """

    kinds = frozenset({SourceKind.GIT})

    def __init__(self, git: Git, cache_dir: Path) -> None:
        self.repositories = GitRepositories(git, cache_dir)
        self.used_credentials: set[uuid.UUID] = set()

    def read(
        self, targets: Sequence[Target], context: ReadContext
    ) -> dict[uuid.UUID, UpstreamRead]:
        return GitReader(self.repositories, context, self.used_credentials).read(targets)

    def browser(self, context: ReadContext) -> GitBrowser:
        return GitBrowser(self.repositories, context, self.used_credentials)

    def inspect(self, asks: Sequence[Inspect], context: ReadContext) -> dict[uuid.UUID, Inspection]:
        review = GitReview(self.repositories, deadline=context.deadline, access=context.access)
        return review.inspect(asks)

    def history(self, asks: Sequence[HistoryAsk], context: ReadContext) -> dict[uuid.UUID, History]:
        review = GitReview(self.repositories, deadline=context.deadline, access=context.access)
        return review.history(asks)

    def unavailable(self, access: Access) -> None:
        return None

    def retry_after(self) -> None:
        return None

    @property
    def rate_limit(self) -> None:
        return None

    def close(self) -> None:
        """Nothing stays open between runs: each git command is its own process."""
