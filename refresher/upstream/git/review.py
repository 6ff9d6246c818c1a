"""Reviewing an update of a git source: files, committer dates and history (SPEC 17).

Files are `git ls-tree` of the artifact's path at both commits, with their modes; a date is
`git log -1 --format=%cI`. The cache repositories are shallow (depth 1), so the commits between
two versions are not there at first: a history deepens the fetch in bounded steps (at most
DEEPEN_STEPS x DEEPEN_BY commits) until it reaches the commit the artifact holds, then lists
`git log <head> ^<base> -- <path>`. A history that cannot reach it is marked truncated.
"""

import time
import uuid
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from refresher.exceptions import ReadFailed, ReadSkipped
from refresher.review.diff import CommitSummary, commit_summaries
from refresher.review.findings import FileEntry
from refresher.sources import Source
from refresher.upstream.access import Access
from refresher.upstream.git.cli import Git, GitFailed, GitLogin
from refresher.upstream.inspect import (
    MAX_HISTORY,
    Files,
    History,
    HistoryAsk,
    Inspect,
    Inspection,
    is_directory,
    under,
)

DEEPEN_BY = 100
DEEPEN_STEPS = 3
_RECORD, _FIELD = "\x1e", "\x00"


class GitRepository(Protocol):
    """What the review needs of a cache repository (`provider.GitRepository`)."""

    git: Git
    path: Path
    deadline: float | None
    login: GitLogin | None  # sent with what the review fetches, as with the run's reads

    def fetch_commits(self, commits: Iterable[str]) -> None: ...


class GitRepositories(Protocol):
    """The cache directory (`provider.GitRepositories`): one repository per URL, locked."""

    def open(
        self,
        url: str,
        *,
        deadline: float | None = None,
        login: GitLogin | None = None,
        who: str = "",
    ) -> AbstractContextManager[GitRepository]: ...


class GitReview:
    def __init__(
        self,
        repositories: GitRepositories,
        *,
        deadline: float | None,
        access: Access | None = None,
    ) -> None:
        self.repositories = repositories
        self.deadline = deadline
        self.access = access or Access()

    def _open(self, source: Source) -> AbstractContextManager[GitRepository]:
        """The source's cache repository, with the collection's login for its host."""
        credential = self.access.git_login_for(source.host) if source.host else None
        if credential is None or credential.refused:
            return self.repositories.open(source.url, deadline=self.deadline)
        login = GitLogin(credential.host, credential.username, credential.password)
        who = credential.ref.describe()
        return self.repositories.open(source.url, deadline=self.deadline, login=login, who=who)

    def inspect(self, asks: Sequence[Inspect]) -> dict[uuid.UUID, Inspection]:
        out: dict[uuid.UUID, Inspection] = {}
        for group in _by_url(asks).values():
            try:
                with self._open(group[0].source) as repo:
                    repo.fetch_commits({c for a in group for c in (a.base, a.head) if c})
                    out.update(_inspections(repo, group))
            except (ReadFailed, ReadSkipped, GitFailed):
                out.update({ask.id: Inspection() for ask in group if ask.id not in out})
        return out

    def history(self, asks: Sequence[HistoryAsk]) -> dict[uuid.UUID, History]:
        out: dict[uuid.UUID, History] = {}
        for group in _by_url(asks).values():
            try:
                with self._open(group[0].source) as repo:
                    repo.fetch_commits({c for a in group for c in (a.base, a.head)})
                    for ask in group:
                        out[ask.id] = _history(repo, ask)
            except (ReadFailed, ReadSkipped, GitFailed):
                out.update({ask.id: History(truncated=True) for ask in group if ask.id not in out})
        return out


def _by_url[A: (Inspect, HistoryAsk)](asks: Sequence[A]) -> dict[str, list[A]]:
    groups: dict[str, list[A]] = {}
    for ask in asks:
        groups.setdefault(ask.source.url, []).append(ask)
    return groups


def _git(repo: GitRepository, args: list[str]) -> bytes:
    return repo.git.run(args, git_dir=repo.path, timeout=_timeout(repo), login=repo.login)


def _timeout(repo: GitRepository) -> float | None:
    return None if repo.deadline is None else max(0.1, repo.deadline - time.monotonic())


def _scoped(ask: Inspect, files: Files | None) -> Files | None:
    """The artifact's own files: those under its directory, or the file itself."""
    if files is None:
        return None
    if is_directory(ask.type, ask.source.path):
        return under(ask.source.path, files)
    return {p: e for p, e in files.items() if p == ask.source.path}


def files_at(repo: GitRepository, commit: str, path: str) -> Files:
    """Every file under `path` at `commit` (or the file `path` itself), with its mode."""
    args = ["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit]
    out = _git(repo, [*args, "--", path] if path else args)
    files: dict[str, FileEntry] = {}
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, sha = meta.decode().split(" ")
        if kind == "blob":
            files[name.decode("utf-8", "surrogateescape")] = FileEntry(mode, sha)
    return files


def committed_at(repo: GitRepository, commit: str) -> datetime | None:
    text = _git(repo, ["log", "-1", "--format=%cI", "--end-of-options", commit]).decode().strip()
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def _inspections(repo: GitRepository, asks: Sequence[Inspect]) -> dict[uuid.UUID, Inspection]:
    """One `ls-tree` per commit, shared by the artifacts of the repository."""
    trees: dict[str, Files | None] = {}
    for commit in sorted({c for a in asks for c in (a.base, a.head) if c}):
        try:
            trees[commit] = files_at(repo, commit, "")
        except GitFailed:
            trees[commit] = None
    dates = {a.head: committed_at(repo, a.head) for a in asks if a.dates}
    return {
        ask.id: Inspection(
            base_files=_scoped(ask, trees.get(ask.base)) if ask.base else None,
            head_files=_scoped(ask, trees.get(ask.head)),
            committed_at=dates.get(ask.head),
        )
        for ask in asks
    }


def _shallow(repo: GitRepository) -> set[str]:
    marker = Path(repo.path) / "shallow"
    return set(marker.read_text().split()) if marker.exists() else set()


def _between(repo: GitRepository, base: str, head: str) -> tuple[list[str], bool]:
    """The commits in `head` but not in `base`, and whether that list reached `base`."""
    out = _git(
        repo, ["rev-list", f"--max-count={DEEPEN_BY * DEEPEN_STEPS}", head, f"^{base}", "--"]
    )
    commits = out.decode().split()
    cut = _shallow(repo) & set(commits)
    return commits, not cut


def _history(repo: GitRepository, ask: HistoryAsk) -> History:
    reached = False
    for _step in range(DEEPEN_STEPS + 1):
        _, reached = _between(repo, ask.base, ask.head)
        if reached:
            break
        _git(
            repo,
            ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--filter=blob:none",
             f"--deepen={DEEPEN_BY}", "origin", ask.head],
        )  # fmt: skip
    # git spells the separators itself (%x00, %x1e): an argument cannot hold a NUL.
    args = ["log", "--format=%H%x00%an%x00%cI%x00%B%x1e", f"-{MAX_HISTORY + 1}"]
    args += [ask.head, f"^{ask.base}", "--"]
    if ask.source.path:
        args.append(ask.source.path)
    commits: list[CommitSummary] = []
    for record in _git(repo, args).decode("utf-8", "replace").split(_RECORD):
        parts = record.strip("\n").split(_FIELD)
        if len(parts) == 4:
            sha, author, date, message = parts
            moment = datetime.fromisoformat(date).astimezone(UTC)
            commits.append(
                {
                    "sha": sha,
                    "message": message,
                    "author": author,
                    "date": f"{moment:%Y-%m-%dT%H:%M:%SZ}",
                }
            )
    return History(
        commits=tuple(commit_summaries(commits)),
        truncated=len(commits) > MAX_HISTORY or not reached,
    )
