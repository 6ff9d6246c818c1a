"""What reviewing an update asks GitHub beyond the run's reads, through either API (SPEC 17).

REST: a commit's files from its recursive tree (`GET /repos/{o}/{r}/git/trees/{sha}?recursive=1`,
the tree the read plan fetched and cached), its committer date from `GET .../git/commits/{sha}`,
and the commits that touched a path from `GET .../commits?sha=&path=&per_page=`. GraphQL: the
same from `object(expression: "<commit>:<dir>")` listings, `committedDate` and
`history(path:, first:)`. Everything asked is addressed by a commit, so answers are cached for
good. What cannot be read is left unknown (None, or an empty history marked truncated): a review
shows less, it never stops the run.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from refresher.review.diff import CommitSummary, commit_summaries
from refresher.review.findings import FileEntry
from refresher.upstream.github.rest import UpstreamReader
from refresher.upstream.github.rest_tree import Fetch
from refresher.upstream.github.shapes import RestCommit, as_shape
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

_UNKNOWN_HISTORY = History(commits=(), truncated=True)


def parse_date(value: object) -> datetime | None:
    """An ISO 8601 timestamp as GitHub writes it (`2026-01-02T03:04:05Z`), in UTC; else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _tree_files(answer: object) -> Files | None:
    if not isinstance(answer, dict) or answer.get("truncated"):
        return None  # a cut tree does not list everything: unknown rather than wrong
    files: dict[str, FileEntry] = {}
    for entry in answer.get("tree") or ():
        if isinstance(entry, dict) and entry.get("type") == "blob":
            files[str(entry.get("path"))] = FileEntry(str(entry.get("mode")), str(entry.get("sha")))
    return files


def _scoped(ask: Inspect, files: Files | None) -> Files | None:
    """The files of the artifact alone: those under its directory, or the file itself."""
    if files is None:
        return None
    if is_directory(ask.type, ask.source.path):
        return under(ask.source.path, files)
    entry = files.get(ask.source.path)
    return {ask.source.path: entry} if entry is not None else {}


class RestReview:
    """Inspections and histories through the REST API, with the read plan's client and cache."""

    def __init__(self, reader: UpstreamReader) -> None:
        self.reader = reader

    def inspect(self, asks: Sequence[Inspect]) -> dict[uuid.UUID, Inspection]:
        fetches: dict[tuple[str, str, str], Fetch] = {}
        for ask in asks:
            name = ask.source.full_name.lower()
            for commit in (ask.base, ask.head):
                if commit:
                    fetches[("tree", name, commit)] = _tree_fetch(name, commit)
            if ask.dates:
                fetches[("commit", name, ask.head)] = _commit_fetch(name, ask.head)
        answers = self.reader.fetch_many(fetches)
        out: dict[uuid.UUID, Inspection] = {}
        for ask in asks:
            name = ask.source.full_name.lower()
            head = answers.get(("commit", name, ask.head))
            out[ask.id] = Inspection(
                base_files=_scoped(ask, _tree_files(answers.get(("tree", name, ask.base)))),
                head_files=_scoped(ask, _tree_files(answers.get(("tree", name, ask.head)))),
                committed_at=_committer_date(head),
            )
        return out

    def history(self, asks: Sequence[HistoryAsk]) -> dict[uuid.UUID, History]:
        fetches: dict[tuple[str, ...], Fetch] = {}
        for ask in asks:
            name = ask.source.full_name.lower()
            fetches[("base", name, ask.base)] = _commit_fetch(name, ask.base)
            params = {"sha": ask.head, "per_page": str(MAX_HISTORY + 1)}
            if ask.source.path:
                params["path"] = ask.source.path
            fetches[("log", name, ask.head, ask.source.path)] = Fetch(
                f"/repos/{name}/commits", params, True
            )
        answers = self.reader.fetch_many(fetches)
        out: dict[uuid.UUID, History] = {}
        for ask in asks:
            name = ask.source.full_name.lower()
            log = answers.get(("log", name, ask.head, ask.source.path))
            base = answers.get(("base", name, ask.base))
            since = _committer_date(base)
            if not isinstance(log, list) or since is None:
                out[ask.id] = _UNKNOWN_HISTORY
                continue
            out[ask.id] = newer_than(
                ask.base, since, _rest_commits(log), complete=len(log) <= MAX_HISTORY
            )
        return out


def newer_than(
    base: str,
    since: datetime,
    commits: Iterable[tuple[CommitSummary, datetime | None]],
    *,
    complete: bool,
) -> History:
    """The commits (newest first) committed after the base commit, stopping at the base itself.

    GitHub's commit lists are filtered by path but not by ancestry, so the base's committer date
    is the bound: what was committed after the content the artifact holds.
    """
    kept: list[CommitSummary] = []
    reached = False
    for summary, moment in commits:
        if summary["sha"] == base or (moment is not None and moment <= since):
            reached = True
            break
        kept.append(summary)
    truncated = len(kept) > MAX_HISTORY or (not reached and not complete)
    return History(commits=tuple(commit_summaries(kept)), truncated=truncated)


def _rest_commits(log: list[object]) -> list[tuple[CommitSummary, datetime | None]]:
    out = []
    for item in log:
        if not isinstance(item, dict):
            continue
        entry = as_shape(item, RestCommit)
        commit = entry.get("commit") or {}
        author = commit.get("author") or {}
        moment = parse_date((commit.get("committer") or {}).get("date"))
        summary: CommitSummary = {
            "sha": str(entry.get("sha") or ""),
            "message": str(commit.get("message") or ""),
            "author": str(author.get("name") or ""),
            "date": _iso(moment),
        }
        out.append((summary, moment))
    return out


def _committer_date(answer: object) -> datetime | None:
    if isinstance(answer, dict):
        return parse_date((answer.get("committer") or {}).get("date"))
    return None


def _tree_fetch(name: str, commit: str) -> Fetch:
    return Fetch(f"/repos/{name}/git/trees/{commit}", {"recursive": "1"}, True)


def _commit_fetch(name: str, commit: str) -> Fetch:
    return Fetch(f"/repos/{name}/git/commits/{commit}", None, True)
