"""What the REST read plan knows of repositories: the requests of a wave, trees and listings.

A run's view of one repository's files (`View`) answers what a path is at a commit from the
recursive tree of that commit, or from the Contents API listings where the tree was cut.
"""

from dataclasses import dataclass
from typing import NamedTuple

from refresher.exceptions import ReadFailed
from refresher.sources import OWNER_RE, REPO_RE
from refresher.upstream.github.shapes import RestContentsEntry, RestTreeEntry


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
class Tree:
    sha: str
    entries: dict[str, Entry]  # by path
    truncated: bool
    # Set when the recursive tree could not be read at all (a timeout, a 502): the artifacts of
    # that commit are then found through directory listings, like those of a truncated tree.
    failed: ReadFailed | None = None


@dataclass
class View:
    """One repository's files at any commit the run read, from its trees or listings."""

    name: str
    trees: dict[RepoCommit, Tree | Exception]
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
        listing = self.listings[RepoDir(self.name, commit, parent_dir(path))]
        if isinstance(listing, ReadFailed) and listing.code == "upstream_not_found":
            return None
        if isinstance(listing, Exception):
            raise listing
        return listing.get(path)


def valid_name(full_name: str) -> bool:
    """Whether a name upstream reports is one we may put in a request path (`owner/repo`)."""
    owner, _, repo = full_name.partition("/")
    return bool(OWNER_RE.match(owner) and REPO_RE.match(repo) and repo not in (".", ".."))


def parent_dir(path: str) -> str:
    return path.rpartition("/")[0]


def entry_of(kind: str, entry: RestTreeEntry | RestContentsEntry) -> Entry:
    size = entry.get("size") if kind == "file" else 0
    return Entry(kind, entry.get("sha") or "", size if isinstance(size, int) else 0)


def tree_kind(entry: RestTreeEntry) -> str:
    """dir, file, link or other, from a recursive tree's entry."""
    if entry.get("type") == "tree":
        return "dir"
    if entry.get("type") == "blob":
        return "link" if entry.get("mode") == "120000" else "file"
    return "other"  # a submodule's commit


def contents_kind(entry: RestContentsEntry) -> str:
    """dir, file, link or other, from a Contents API entry."""
    return {"file": "file", "dir": "dir", "symlink": "link"}.get(entry.get("type", ""), "other")
