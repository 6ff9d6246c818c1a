"""Reading one repository's whole tree at a ref: what discovery needs of a provider.

A refresh reads known artifacts; discovery reads a repository to find them. Providers that can be
browsed give a `Browser`, which answers with a `Snapshot` (the commit read and every path in its
tree) and reads the blobs asked for in one batch. Callers never learn which provider answered.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from refresher.exceptions import ReadFailed
from refresher.json_types import JSONObject
from refresher.sources import Source


@dataclass
class Snapshot:
    """A repository's tree at one commit: path -> (kind, sha); kind: file, dir, link, other."""

    source: Source
    commit: str
    ref: str  # the ref read: the source's own, or the default branch's name
    entries: dict[str, tuple[str, str]]
    repository: JSONObject = field(default_factory=dict)
    truncated: bool = False
    # Where the provider reads the blobs from: the repository's current name on GitHub, the
    # URL of a git repository.
    handle: str = field(default="", repr=False)


class Browser(Protocol):
    def snapshot(self, source: Source) -> Snapshot:
        """The tree at the source's ref (its default branch when it has none).

        Raises ReadFailed (`upstream_not_found`, `upstream_forbidden`, ...) or ReadSkipped.
        """
        ...

    def read_blobs(self, snapshot: Snapshot, shas: Iterable[str]) -> dict[str, bytes | ReadFailed]:
        """The contents of these blobs of the snapshot's repository, read in one batch."""
        ...
