"""What the review of an update asks a provider beyond the run's reads (SPEC 17).

A run that finds new content for an artifact may need to know more before it takes or proposes
it: the files under the artifact at the commit it holds and at the new one (which scripts were
added or changed), the new commit's committer date (the cooldown), and for a proposal the commits
in between that touched the artifact's path. Only artifacts whose content changed are asked
about, so an unchanged collection costs nothing here.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from refresher.review.diff import CommitSummary
from refresher.review.findings import FileEntry
from refresher.sources import Source
from refresher.upstream.reads import main_file_candidates

type Files = Mapping[str, FileEntry]  # by path in the repository


@dataclass(frozen=True, slots=True)
class Inspect:
    """One artifact whose content changed: the commit it holds and the commit of the new content."""

    id: uuid.UUID
    type: str
    source: Source
    base: str  # the commit the stored content came from ('' when none is recorded)
    head: str
    dates: bool = False  # the head's committer date is wanted (a cooldown is set)


@dataclass(frozen=True, slots=True)
class Inspection:
    """The artifact's files at both commits (None where not known) and the head's date."""

    base_files: Files | None = None
    head_files: Files | None = None
    committed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HistoryAsk:
    """The commits between `base` and `head` that touched the artifact's path."""

    id: uuid.UUID
    source: Source
    base: str
    head: str


@dataclass(frozen=True, slots=True)
class History:
    commits: tuple[CommitSummary, ...] = ()
    truncated: bool = False  # more touched the path than are listed, or not all could be read


# Commits listed per proposal (SPEC 17: at most 20); one more is asked to know there are more.
MAX_HISTORY = 20


def is_directory(kind: str, path: str) -> bool:
    """Whether the artifact is a directory (a skill's folder) rather than its main file alone."""
    return main_file_candidates(kind, path) != [path]


def under(path: str, files: Mapping[str, FileEntry]) -> dict[str, FileEntry]:
    """The files under directory `path` ('' is the whole repository)."""
    prefix = f"{path.rstrip('/')}/" if path else ""
    return {p: e for p, e in files.items() if p.startswith(prefix)}
