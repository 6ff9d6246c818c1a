"""Commit history in the fake: GitHub's commits list and git commit objects (REST), and
`Commit.history` / `committedDate` (GraphQL).

REST, as GitHub documents them: `GET /repos/{o}/{r}/commits` takes `sha` (a SHA or branch to
start from; the default branch otherwise), `path` (only commits that changed it), `since` and
`until` (ISO 8601, on the committer date), `per_page` (default 30, at most 100) and `page`, and
pages with a `Link` header (`next`, `last`, and `first`, `prev` past the first page);
`GET /repos/{o}/{r}/git/commits/{sha}` is the git commit object. Commits are walked from the
start in reverse chronological order, children before parents, as `git log` does; a commit
changed a path when the path's entry differs from its first parent's (or, for a root commit,
when the path exists).

Tests set commit dates (`FakeGitHub.commit(date=...)`) to back-date or freshen a commit.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100
AUTHOR = {"name": "Fake Author", "email": "author@example.com"}


class CommitLike(Protocol):
    @property
    def sha(self) -> str: ...
    @property
    def tree(self) -> str: ...
    @property
    def parents(self) -> tuple[str, ...]: ...
    @property
    def message(self) -> str: ...
    @property
    def timestamp(self) -> int: ...


class RepoLike(Protocol):
    @property
    def commits(self) -> Mapping[str, Any]: ...

    def lookup(self, tree: str, path: str) -> Any: ...


class BadRequest(ValueError):
    """A parameter GitHub would refuse (422 in its answers)."""


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry_key(repo: RepoLike, commit: CommitLike, path: str) -> tuple[str, str] | None:
    entry = repo.lookup(commit.tree, path)
    return None if entry is None else (entry.mode, entry.sha)


def changed(repo: RepoLike, commit: CommitLike, path: str) -> bool:
    """Whether `commit` changed `path` (anything under it, for a directory)."""
    if not path:
        return True
    mine = _entry_key(repo, commit, path)
    if not commit.parents:
        return mine is not None
    return mine != _entry_key(repo, repo.commits[commit.parents[0]], path)


def walk(repo: RepoLike, start: str) -> Iterator[CommitLike]:
    """Every commit reachable from `start`, newest first, children before their parents."""
    seen = {start}
    queue: list[tuple[int, int, str]] = [(-repo.commits[start].timestamp, 0, start)]
    order = 0
    while queue:
        _, _, sha = heapq.heappop(queue)
        commit = repo.commits[sha]
        yield commit
        for parent in commit.parents:
            if parent not in seen:
                seen.add(parent)
                order += 1
                heapq.heappush(queue, (-repo.commits[parent].timestamp, order, parent))


def history(
    repo: RepoLike,
    start: str,
    *,
    path: str = "",
    since: int | None = None,
    until: int | None = None,
) -> list[CommitLike]:
    path = path.strip("/")
    return [
        c
        for c in walk(repo, start)
        if changed(repo, c, path)
        and (since is None or c.timestamp >= since)
        and (until is None or c.timestamp <= until)
    ]


def parse_time(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid time {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _number(value: str | None, default: int, *, name: str) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise BadRequest(f"{name} must be a positive integer")
    return int(value)


def page_of(
    items: list[Any], args: Mapping[str, str], url: str
) -> tuple[list[Any], dict[str, str]]:
    """One page of `items` and the `Link` header GitHub sends with it (when there are more)."""
    per_page = min(
        MAX_PER_PAGE, max(1, _number(args.get("per_page"), DEFAULT_PER_PAGE, name="per_page"))
    )
    page = max(1, _number(args.get("page"), 1, name="page"))
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    query = {k: v for k, v in args.items() if k != "page"}
    query["per_page"] = str(per_page)

    def link(number: int, rel: str) -> str:
        return f'<{url}?{urlencode({**query, "page": str(number)})}>; rel="{rel}"'

    links = []
    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    return chunk, ({"Link": ", ".join(links)} if links else {})


def person(commit: CommitLike) -> dict[str, str]:
    return {**AUTHOR, "date": iso(commit.timestamp)}


def _parents(api: str, web: str, commit: CommitLike, *, kind: str) -> list[dict[str, str]]:
    return [
        {"sha": p, "url": f"{api}/{kind}/{p}", "html_url": f"{web}/commit/{p}"}
        for p in commit.parents
    ]


def commit_item(
    api: str, web: str, commit: CommitLike, verification: dict[str, Any]
) -> dict[str, Any]:
    """One commit as the commits list shows it."""
    return {
        "sha": commit.sha,
        "node_id": f"C_{commit.sha[:20]}",
        "commit": {
            "author": person(commit),
            "committer": person(commit),
            "message": commit.message.rstrip("\n"),
            "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
            "url": f"{api}/git/commits/{commit.sha}",
            "comment_count": 0,
            "verification": verification,
        },
        "url": f"{api}/commits/{commit.sha}",
        "html_url": f"{web}/commit/{commit.sha}",
        "comments_url": f"{api}/commits/{commit.sha}/comments",
        "author": None,
        "committer": None,
        "parents": _parents(api, web, commit, kind="commits"),
    }


def git_commit(
    api: str, web: str, commit: CommitLike, verification: dict[str, Any]
) -> dict[str, Any]:
    """`GET /repos/{o}/{r}/git/commits/{sha}`: the git commit object."""
    return {
        "sha": commit.sha,
        "node_id": f"C_{commit.sha[:20]}",
        "url": f"{api}/git/commits/{commit.sha}",
        "html_url": f"{web}/commit/{commit.sha}",
        "author": person(commit),
        "committer": person(commit),
        "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
        "message": commit.message.rstrip("\n"),
        "parents": _parents(api, web, commit, kind="git/commits"),
        "verification": verification,
    }


class HistoryResolvers:
    """GraphQL's `Commit` fields about history, for the fake's resolver class to inherit.

    `self.repo_of(commit)` gives the store's repository of a resolved commit object.
    """

    def _Commit_committedDate(self, commit: Any, info: Any) -> str:
        return iso(commit.repo.commits[commit.oid].timestamp)

    def _Commit_authoredDate(self, commit: Any, info: Any) -> str:
        return self._Commit_committedDate(commit, info)

    def _Commit_message(self, commit: Any, info: Any) -> str:
        return str(commit.repo.commits[commit.oid].message.rstrip("\n"))

    def _Commit_messageHeadline(self, commit: Any, info: Any) -> str:
        return self._Commit_message(commit, info).split("\n", 1)[0]

    def _Commit_author(self, commit: Any, info: Any) -> dict[str, Any]:
        return {**AUTHOR, "date": self._Commit_committedDate(commit, info), "user": None}

    _Commit_committer = _Commit_author

    def _Commit_history(
        self,
        commit: Any,
        info: Any,
        first: int | None = None,
        path: str | None = None,
        since: str | None = None,
        until: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        repo = commit.repo
        found = history(
            repo, commit.oid, path=path or "", since=parse_time(since), until=parse_time(until)
        )
        shown = found[: first if first is not None else 100]
        info.context.charge(len(shown))
        kind = type(commit)
        nodes = [kind(repo, c.sha, "Commit") for c in shown]
        return {
            "nodes": nodes,
            "totalCount": len(found),
            "pageInfo": {
                "hasNextPage": len(found) > len(shown),
                "hasPreviousPage": False,
                "startCursor": None,
                "endCursor": None,
            },
        }
