"""What a reviewer reads besides the findings: a bounded unified diff of the main file, the files
changed under the artifact, and the commits in between (SPEC 17). Pure functions.
"""

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypedDict

from refresher.review.findings import FileEntry

# A diff is stored with its proposal and shown in a page: past these it is cut, and says so.
MAX_DIFF_LINES = 5_000
MAX_DIFF_CHARS = 256 * 1024
# difflib compares line sequences in up to quadratic time; two texts this long are not compared
# line by line at all (a 1 MiB file of short lines would take minutes).
MAX_COMPARED_LINES = 20_000
MAX_FILES = 500
MAX_COMMITS = 20
MAX_MESSAGE_CHARS = 2_000


class FileChange(TypedDict):
    path: str
    status: Literal["added", "modified", "removed"]


class CommitSummary(TypedDict):
    sha: str
    message: str
    author: str
    date: str  # ISO 8601, UTC


@dataclass(frozen=True, slots=True)
class Diff:
    text: str
    truncated: bool


def unified_diff(old: str, new: str, *, old_path: str, new_path: str) -> Diff:
    """`diff -u` of two texts, cut at MAX_DIFF_LINES lines or MAX_DIFF_CHARS characters.

    Texts too long to compare line by line give a one-line note instead of a diff (truncated).
    """
    old_lines, new_lines = old.splitlines(), new.splitlines()
    if old_lines == new_lines:
        return Diff("", False)
    if len(old_lines) + len(new_lines) > MAX_COMPARED_LINES:
        note = (
            f"--- a/{old_path}\n+++ b/{new_path}\n"
            f"# not compared line by line: {len(old_lines)} lines before, {len(new_lines)} after\n"
        )
        return Diff(note, True)
    lines = difflib.unified_diff(
        old_lines, new_lines, fromfile=f"a/{old_path}", tofile=f"b/{new_path}", lineterm=""
    )
    kept: list[str] = []
    size = 0
    for line in lines:
        if len(kept) >= MAX_DIFF_LINES or size + len(line) + 1 > MAX_DIFF_CHARS:
            return Diff("\n".join(kept) + "\n", True)
        kept.append(line)
        size += len(line) + 1
    return Diff("\n".join(kept) + "\n", False)


def changed_files(
    old: Mapping[str, FileEntry] | None, new: Mapping[str, FileEntry]
) -> tuple[list[FileChange], bool]:
    """Files added, modified (content or mode) or removed between two listings, by path; and
    whether the list was cut at MAX_FILES. No old listing: every file is added."""
    before = old or {}
    changes: list[FileChange] = []
    for path in sorted(set(before) | set(new)):
        if path not in before:
            changes.append({"path": path, "status": "added"})
        elif path not in new:
            changes.append({"path": path, "status": "removed"})
        elif before[path] != new[path]:
            changes.append({"path": path, "status": "modified"})
    return changes[:MAX_FILES], len(changes) > MAX_FILES


def commit_summaries(commits: Iterable[CommitSummary]) -> list[CommitSummary]:
    """At most MAX_COMMITS commits, newest first as given, messages cut to a readable length."""
    out: list[CommitSummary] = []
    for commit in commits:
        message = commit["message"].strip()
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[: MAX_MESSAGE_CHARS - 1] + "…"
        out.append({**commit, "message": message})
        if len(out) == MAX_COMMITS:
            break
    return out
