"""Real git repositories on disk for the tests of git sources: commits, tags, branches, links."""

import os
import subprocess
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Upstream Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Upstream Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "LC_ALL": "C",
}


class LocalRepo:
    """A working repository the tests commit to; `source()` spells its git+file source."""

    def __init__(self, path: Path, *, branch: str = "main", allow_filter: bool = True) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", f"--initial-branch={branch}")
        if allow_filter:
            # As on GitHub or GitLab: the server side honours --filter=blob:none.
            self.git("config", "uploadpack.allowFilter", "true")

    @classmethod
    def existing(cls, path: Path) -> "LocalRepo":
        """A repository someone else created (e.g. the offline demo's)."""
        repo = cls.__new__(cls)
        repo.path = path
        return repo

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        return subprocess.run(
            ["git", *args],
            cwd=self.path,
            env={**_ENV, **(env or {})},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def commit(
        self,
        files: Mapping[str, str | None],
        message: str = "update",
        *,
        date: datetime | None = None,
        executable: Iterable[str] = (),
    ) -> str:
        """Write (or, for None, delete) files and commit them; return the commit SHA.

        `date` sets the author and committer dates (back-dated or fresh commits); files named in
        `executable` are committed with mode 100755.
        """
        scripts = set(executable)
        for name, text in files.items():
            target = self.path / name
            if text is None:
                self.git("rm", "-r", "--quiet", "--", name)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            target.chmod(0o755 if name in scripts else 0o644)
            self.git("add", "--", name)
        when = None
        if date is not None:
            when = {"GIT_AUTHOR_DATE": date.isoformat(), "GIT_COMMITTER_DATE": date.isoformat()}
        self.git("commit", "--quiet", "--allow-empty", "-m", message, env=when)
        return self.head()

    def symlink(self, name: str, points_to: str, message: str = "link") -> str:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(points_to)
        self.git("add", "--", name)
        self.git("commit", "--quiet", "-m", message)
        return self.head()

    def tag(self, name: str, *, annotated: bool = False, sha: str = "HEAD") -> None:
        if annotated:
            self.git("tag", "-a", "-m", f"Release {name}", name, sha)
        else:
            self.git("tag", name, sha)

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref)

    def object_sha(self, path: str, ref: str = "HEAD") -> str:
        """The tree or blob SHA of `path` at `ref`."""
        return self.git("rev-parse", f"{ref}:{path}")

    def source(self, path: str = "", ref: str = "") -> str:
        return (
            f"git+file://{self.path}" + (f"//{path}" if path else "") + (f"@{ref}" if ref else "")
        )
