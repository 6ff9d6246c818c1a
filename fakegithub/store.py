"""The fake's git object store: blobs, trees, commits and tags with the SHA-1s git gives them.

:class:`RepoStore` holds the repositories by name (and remembers renames); each repository keeps
its objects in memory; a directory's tree SHA changes only when something
under it changes, exactly as in git, so update detection sees what it would see on GitHub.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WEB_URL = "https://github.com"
JSON_TYPE = "application/json; charset=utf-8"
FILE_MODE = "100644"
TREE_MODE = "40000"  # git writes it without the leading zero; the REST API shows "040000"

LICENSES = {
    "MIT": ("mit", "MIT License"),
    "Apache-2.0": ("apache-2.0", "Apache License 2.0"),
    "BSD-3-Clause": ("bsd-3-clause", 'BSD 3-Clause "New" or "Revised" License'),
    "GPL-3.0": ("gpl-3.0", "GNU General Public License v3.0"),
    "MPL-2.0": ("mpl-2.0", "Mozilla Public License 2.0"),
    "ISC": ("isc", "ISC License"),
    "Unlicense": ("unlicense", "The Unlicense"),
    "NOASSERTION": ("other", "Other"),
}
REPO_FIELDS = frozenset(
    {
        "description",
        "topics",
        "license_spdx",
        "private",
        "default_branch",
        "homepage",
        "archived",
        "owner_type",
    }
)


def git_hash(kind: str, body: bytes) -> str:
    """The SHA-1 git gives an object of ``kind`` (blob, tree, commit, tag) with this body."""
    return hashlib.sha1(b"%s %d\x00" % (kind.encode(), len(body)) + body).hexdigest()


# The bodies of git's objects as the fake writes them: the SHA-1s above are of these bytes, and
# the git smart HTTP service (git_http.py) writes the same bytes into a real repository.


def tree_body(entries: Iterable[Entry]) -> bytes:
    """A tree object's body: its entries, already in git's order."""
    return b"".join(f"{e.mode} {e.name}".encode() + b"\x00" + bytes.fromhex(e.sha) for e in entries)


def commit_body(tree: str, parents: Iterable[str], timestamp: int, message: str) -> bytes:
    """A commit object's body (``message`` ends with its newline)."""
    text = f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents)
    signature = f"Fake Author <author@example.com> {timestamp} +0000"
    return f"{text}author {signature}\ncommitter {signature}\n\n{message}".encode()


def tag_body(target: str, name: str, timestamp: int, message: str) -> bytes:
    """An annotated tag object's body, pointing at commit ``target``."""
    return (
        f"object {target}\ntype commit\ntag {name}\n"
        f"tagger Fake Tagger <tagger@example.com> {timestamp} +0000\n\n{message}"
    ).encode()


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64_lines(data: bytes) -> str:
    # GitHub wraps base64 content at 60 characters per line, with a trailing newline.
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


def node_id(kind: str, key: object) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Entry:
    name: str
    mode: str
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == TREE_MODE


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    timestamp: int
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class TagObject:
    sha: str
    name: str
    target: str
    message: str
    timestamp: int


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str
    topics: list[str]
    license_spdx: str | None
    private: bool
    created_at: int
    updated_at: int
    pushed_at: int
    description: str | None = None
    homepage: str | None = None
    archived: bool = False
    owner_type: str = "User"
    truncated: bool = False
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, tuple[Entry, ...]] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    tag_objects: dict[str, TagObject] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def empty(self) -> bool:
        return not self.commits

    def write_tree(self, files: Mapping[str, bytes]) -> str:
        """Store blobs and trees for a flat {path: bytes} mapping; return the root tree SHA."""
        root: dict[str, Any] = {}
        for path, data in files.items():
            parts = path.split("/")
            if any(part in ("", ".", "..") for part in parts):
                raise ValueError(f"invalid path {path!r}")
            node = root
            for part in parts[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ValueError(f"{path!r} is under a file")
            if isinstance(node.get(parts[-1]), dict):
                raise ValueError(f"{path!r} is a directory")
            node[parts[-1]] = data
        return self._store_tree(root)

    def _store_tree(self, node: Mapping[str, Any]) -> str:
        entries = []
        for name, value in node.items():
            if isinstance(value, dict):
                entries.append(Entry(name, TREE_MODE, self._store_tree(value)))
            else:
                sha = git_hash("blob", value)
                self.blobs[sha] = value
                entries.append(Entry(name, FILE_MODE, sha))
        # Git orders entries by name bytes, comparing a directory as if its name ended in "/".
        entries.sort(key=lambda e: e.name.encode() + (b"/" if e.is_tree else b""))
        sha = git_hash("tree", tree_body(entries))
        self.trees[sha] = tuple(entries)
        return sha

    def peel(self, sha: str) -> str:
        """The commit an annotated tag points at (or the SHA itself)."""
        while sha in self.tag_objects:
            sha = self.tag_objects[sha].target
        return sha

    def resolve(self, ref: str) -> str | None:
        """A commit SHA for a branch, tag, full or abbreviated commit SHA; None when unknown."""
        for prefix in ("refs/", "heads/", "tags/"):
            ref = ref.removeprefix(prefix)
        if ref in self.branches:
            return self.branches[ref]
        if ref in self.tags:
            return self.peel(self.tags[ref])
        if re.fullmatch(r"[0-9a-f]{7,40}", ref):
            matches = [sha for sha in self.commits if sha.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
        return None

    def lookup(self, tree: str, path: str) -> Entry | None:
        """The entry at ``path`` under ``tree`` ('' is the tree itself)."""
        entry = Entry("", TREE_MODE, tree)
        for part in filter(None, path.split("/")):
            if not entry.is_tree:
                return None
            child = next((e for e in self.trees[entry.sha] if e.name == part), None)
            if child is None:
                return None
            entry = child
        return entry

    def walk(self, tree: str, prefix: str = "") -> Iterable[tuple[str, Entry]]:
        """Every (path, entry) under ``tree``, a directory listed just before its contents."""
        for entry in self.trees[tree]:
            path = prefix + entry.name
            yield path, entry
            if entry.is_tree:
                yield from self.walk(entry.sha, path + "/")


class RepoStore:
    """The repositories the fake serves, by lower-cased ``owner/name``; thread-safe.

    Readers (the REST routes, the GraphQL resolvers) hold :attr:`lock` while they read a
    repository, so a commit is never seen half written.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._repos: dict[str, Repo] = {}
        self._moved: dict[str, int] = {}
        self._ids = itertools.count(1000)
        self._clock = int(time.time()) - 86400

    # -- reading (callers hold the lock) ---------------------------------------------------------

    def get(self, full_name: str) -> Repo | None:
        """The repository by its current name, or None."""
        return self._repos.get(full_name.lower())

    def moved_id(self, full_name: str) -> int | None:
        """The id of the repository once called ``full_name`` and renamed since, or None."""
        key = full_name.lower()
        return None if key in self._repos else self._moved.get(key)

    def by_id(self, repo_id: int) -> Repo | None:
        """The repository with this id, or None."""
        return next((r for r in self._repos.values() if r.id == repo_id), None)

    def require(self, full_name: str) -> Repo:
        """The repository by its current name; KeyError when there is none."""
        repo = self.get(full_name)
        if repo is None:
            raise KeyError(f"no repository {full_name}")
        return repo

    def repos(self) -> list[Repo]:
        """Every repository held, by current name."""
        return sorted(self._repos.values(), key=lambda repo: repo.full_name.lower())

    def full_names(self) -> list[str]:
        """The repositories held, by their current names."""
        with self.lock:
            return sorted(repo.full_name for repo in self._repos.values())

    # -- writing ---------------------------------------------------------------------------------

    def add(
        self,
        full_name: str,
        *,
        default_branch: str,
        topics: Iterable[str],
        license_spdx: str | None,
        private: bool,
    ) -> Repo:
        """Create an empty repository."""
        owner, name = split_full_name(full_name)
        with self.lock:
            if full_name.lower() in self._repos:
                raise ValueError(f"{full_name} already exists")
            now = self.tick()
            repo = Repo(
                id=next(self._ids),
                owner=owner,
                name=name,
                default_branch=default_branch,
                topics=list(topics),
                license_spdx=license_spdx,
                private=private,
                created_at=now,
                updated_at=now,
                pushed_at=now,
            )
            self._repos[full_name.lower()] = repo
            return repo

    def rename(self, full_name: str, new_full_name: str) -> None:
        """Rename a repository, remembering the old name."""
        owner, name = split_full_name(new_full_name)
        with self.lock:
            repo = self.require(full_name)
            del self._repos[full_name.lower()]
            repo.owner, repo.name = owner, name
            repo.updated_at = self.tick()
            self._repos[new_full_name.lower()] = repo
            self._moved[full_name.lower()] = repo.id

    def tick(self) -> int:
        """A strictly increasing clock: commit SHAs and Last-Modified stay distinct in a second."""
        with self.lock:
            self._clock = max(int(time.time()), self._clock + 1)
            return self._clock

    def commit(
        self,
        repo: Repo,
        *,
        files: Mapping[str, str | bytes | None],
        branch: str,
        message: str,
        date: datetime | None = None,
    ) -> str:
        """Commit ``files`` on ``branch`` (``None`` deletes a file); return the commit SHA.

        ``date`` sets the commit's author and committer date (tests back-date commits).
        """
        with self.lock:
            parent = repo.branches.get(branch) or repo.branches.get(repo.default_branch)
            tree_files = dict(repo.commits[parent].files) if parent else {}
            for path, content in files.items():
                path = path.strip("/")
                if content is None:
                    if tree_files.pop(path, None) is None:
                        raise ValueError(f"cannot delete missing file {path!r}")
                else:
                    tree_files[path] = content.encode() if isinstance(content, str) else content
            tree = repo.write_tree(tree_files)
            now = int(date.timestamp()) if date is not None else self.tick()
            parents = (parent,) if parent else ()
            sha = git_hash("commit", commit_body(tree, parents, now, message + "\n"))
            repo.commits[sha] = Commit(sha, tree, parents, message + "\n", now, tree_files)
            repo.branches[branch] = sha
            repo.pushed_at = repo.updated_at = now
            return sha

    def tag(self, repo: Repo, name: str, *, sha: str | None, annotated: bool) -> None:
        """Point tag ``name`` at a commit; an annotated tag gets a tag object of its own."""
        with self.lock:
            target = sha or repo.branches[repo.default_branch]
            if target not in repo.commits:
                raise ValueError(f"unknown commit {target}")
            if annotated:
                now = self.tick()
                message = f"Release {name}\n"
                tag_sha = git_hash("tag", tag_body(target, name, now, message))
                repo.tag_objects[tag_sha] = TagObject(tag_sha, name, target, message, now)
                target = tag_sha
            repo.tags[name] = target


def split_full_name(full_name: str) -> tuple[str, str]:
    """(owner, name) of ``owner/name``; ValueError for anything else."""
    owner, sep, name = full_name.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ValueError(f"expected owner/name, got {full_name!r}")
    return owner, name
