"""The fake's repositories as real git repositories on disk, for git's smart HTTP (git_http.py).

The store keeps every object's content and its SHA-1 as git computes it, so writing the same bytes
as loose objects into a bare repository gives git the very objects the REST and GraphQL APIs
describe: a clone checks out the commit the API named. Each repository is written once, then
brought up to date (new objects, moved refs) before each git request; a rename keeps its
directory (directories go by repository id).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

from .store import Repo, commit_body, git_hash, tag_body, tree_body

# What a partial clone needs from upload-pack: filters, and wants of any reachable commit by SHA
# (`git-subdir` sources name a commit, not a ref).
UPLOAD_PACK_CONFIG = {
    "uploadpack.allowFilter": "true",
    "uploadpack.allowAnySHA1InWant": "true",
    "uploadpack.allowReachableSHA1InWant": "true",
    "uploadpack.allowTipSHA1InWant": "true",
}


def git_env(**extra: str) -> dict[str, str]:
    """The environment git runs in: the caller's, without its repository-selecting variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env.update(extra)
    return env


def repo_objects(repo: Repo) -> Iterator[tuple[str, str, bytes]]:
    """Every object of ``repo`` as (sha, kind, body); the caller holds the store's lock."""
    for sha, data in repo.blobs.items():
        yield sha, "blob", data
    for sha, entries in repo.trees.items():
        yield sha, "tree", tree_body(entries)
    for sha, commit in repo.commits.items():
        yield (
            sha,
            "commit",
            commit_body(commit.tree, commit.parents, commit.timestamp, commit.message),
        )
    for sha, tag in repo.tag_objects.items():
        yield sha, "tag", tag_body(tag.target, tag.name, tag.timestamp, tag.message)


class GitRepos:
    """Bare repositories under one temporary directory, one per repository of the store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._root: Path | None = None
        self._written: dict[int, set[str]] = {}

    def path_for(self, repo: Repo) -> Path:
        """The bare repository of ``repo``, up to date; the caller holds the store's lock."""
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="fakegithub-git-"))
            path = self._root / f"{repo.id}.git"
            if repo.id not in self._written:
                self._init(path)
                self._written[repo.id] = set()
            self._write_objects(path, repo, self._written[repo.id])
            self._write_refs(path, repo)
            return path

    def remove(self) -> None:
        """Delete every repository written so far (the fake stopped)."""
        with self._lock:
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
            self._written.clear()

    @staticmethod
    def _init(path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", str(path)],
            check=True,
            env=git_env(),
            capture_output=True,
            timeout=30,
        )
        for key, value in UPLOAD_PACK_CONFIG.items():
            subprocess.run(
                ["git", "config", "--file", str(path / "config"), key, value],
                check=True,
                env=git_env(),
                capture_output=True,
                timeout=30,
            )

    @staticmethod
    def _write_objects(path: Path, repo: Repo, written: set[str]) -> None:
        objects = path / "objects"
        for sha, kind, body in repo_objects(repo):
            if sha in written:
                continue
            if git_hash(kind, body) != sha:
                raise RuntimeError(f"{repo.full_name}: {kind} {sha} does not hash to its SHA")
            folder = objects / sha[:2]
            folder.mkdir(exist_ok=True)
            header = f"{kind} {len(body)}\0".encode()
            _write_atomically(folder / sha[2:], zlib.compress(header + body))
            written.add(sha)

    @staticmethod
    def _write_refs(path: Path, repo: Repo) -> None:
        wanted = {f"refs/heads/{name}": sha for name, sha in repo.branches.items()}
        wanted |= {f"refs/tags/{name}": sha for name, sha in repo.tags.items()}
        refs = path / "refs"
        for ref_file in [p for p in refs.rglob("*") if p.is_file()]:
            if ref_file.relative_to(path).as_posix() not in wanted:
                ref_file.unlink()
        for ref, sha in wanted.items():
            ref_file = path / ref
            ref_file.parent.mkdir(parents=True, exist_ok=True)
            if not ref_file.exists() or ref_file.read_text().strip() != sha:
                _write_atomically(ref_file, f"{sha}\n".encode())
        _write_atomically(path / "HEAD", f"ref: refs/heads/{repo.default_branch}\n".encode())


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{threading.get_ident()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)
