"""The fake's git object store: blobs, trees, commits and tags with the SHA-1s git gives them.

Each repository keeps its objects in memory; a directory's tree SHA changes only when something
under it changes, exactly as in git, so update detection sees what it would see on GitHub.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DOCS_URL = "https://docs.github.com/rest"
RATE_LIMIT_DOCS_URL = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
WEB_URL = "https://github.com"
JSON_TYPE = "application/json; charset=utf-8"
FILE_MODE = "100644"
TREE_MODE = "40000"  # git writes it without the leading zero; the REST API shows "040000"

_LICENSES = {
    "MIT": ("mit", "MIT License"),
    "Apache-2.0": ("apache-2.0", "Apache License 2.0"),
    "BSD-3-Clause": ("bsd-3-clause", 'BSD 3-Clause "New" or "Revised" License'),
    "GPL-3.0": ("gpl-3.0", "GNU General Public License v3.0"),
    "MPL-2.0": ("mpl-2.0", "Mozilla Public License 2.0"),
    "ISC": ("isc", "ISC License"),
    "Unlicense": ("unlicense", "The Unlicense"),
    "NOASSERTION": ("other", "Other"),
}
_REPO_FIELDS = frozenset(
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


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64_lines(data: bytes) -> str:
    # GitHub wraps base64 content at 60 characters per line, with a trailing newline.
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


def _node_id(kind: str, key: object) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


@dataclass(frozen=True)
class _Entry:
    name: str
    mode: str
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == TREE_MODE


@dataclass(frozen=True)
class _Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    timestamp: int
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class _TagObject:
    sha: str
    name: str
    target: str
    message: str
    timestamp: int


@dataclass
class _Repo:
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
    trees: dict[str, tuple[_Entry, ...]] = field(default_factory=dict)
    commits: dict[str, _Commit] = field(default_factory=dict)
    tag_objects: dict[str, _TagObject] = field(default_factory=dict)
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
                entries.append(_Entry(name, TREE_MODE, self._store_tree(value)))
            else:
                sha = git_hash("blob", value)
                self.blobs[sha] = value
                entries.append(_Entry(name, FILE_MODE, sha))
        # Git orders entries by name bytes, comparing a directory as if its name ended in "/".
        entries.sort(key=lambda e: e.name.encode() + (b"/" if e.is_tree else b""))
        body = b"".join(
            f"{e.mode} {e.name}".encode() + b"\x00" + bytes.fromhex(e.sha) for e in entries
        )
        sha = git_hash("tree", body)
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

    def lookup(self, tree: str, path: str) -> _Entry | None:
        """The entry at ``path`` under ``tree`` ('' is the tree itself)."""
        entry = _Entry("", TREE_MODE, tree)
        for part in filter(None, path.split("/")):
            if not entry.is_tree:
                return None
            child = next((e for e in self.trees[entry.sha] if e.name == part), None)
            if child is None:
                return None
            entry = child
        return entry

    def walk(self, tree: str, prefix: str = "") -> Iterable[tuple[str, _Entry]]:
        """Every (path, entry) under ``tree``, a directory listed just before its contents."""
        for entry in self.trees[tree]:
            path = prefix + entry.name
            yield path, entry
            if entry.is_tree:
                yield from self.walk(entry.sha, path + "/")
