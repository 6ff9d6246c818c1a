"""Claude Code's real CLI, run by tests with a scratch HOME and no way out to the network.

`make claude-code` installs the pinned CLI into var/claude-code (`CLAUDE_CODE_BIN` names another
binary). The `claude` fixture gives a `ClaudeCode` whose HOME, XDG directories and git
configuration live in the test's tmp_path, so nothing of the machine's own configuration is read or
written; a proxy that answers nothing takes every request that is not for loopback, so a command
that would reach the internet fails instead. Tests that use it are marked `claude_cli`; without the
binary they skip, with the command that installs it (and CI fails a skipped `claude_cli` test,
tests/ci_gate.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PINNED_VERSION = "2.1.332"
INSTALLED_BIN = ROOT / "var" / "claude-code" / "node_modules" / ".bin" / "claude"
INSTALL_HINT = "Claude Code's CLI is not installed: run `make claude-code` (needs Node.js and npm)"

# Loopback answers nothing on the discard port: anything proxied there fails at once.
DEAD_PROXY = "http://127.0.0.1:9"
DEFAULT_TIMEOUT = 120.0


def claude_binary() -> Path | None:
    """The CLI to run: `CLAUDE_CODE_BIN` when set, else the pinned install; None when missing."""
    named = os.environ.get("CLAUDE_CODE_BIN", "").strip()
    path = Path(shutil.which(named) or named) if named else INSTALLED_BIN
    return path if path.is_file() and os.access(path, os.X_OK) else None


@dataclass(frozen=True)
class ClaudeResult:
    """One CLI run: its arguments, exit code and output."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> object:
        """stdout read as JSON (for the `--json` commands)."""
        return json.loads(self.stdout)

    def check(self) -> ClaudeResult:
        """This result, or an AssertionError that shows the command and its output."""
        assert self.returncode == 0, self.describe()
        return self

    def describe(self) -> str:
        return (
            f"claude {' '.join(self.args)} exited {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


@dataclass
class ClaudeCode:
    """The CLI with its own HOME: `run("plugin", "validate", "--strict", path)`."""

    binary: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        """Where the CLI keeps its settings, marketplaces and plugins (`~/.claude`)."""
        return self.home / ".claude"

    @property
    def plugins_dir(self) -> Path:
        return self.config_dir / "plugins"

    def run(
        self, *args: str | Path, timeout: float = DEFAULT_TIMEOUT, cwd: Path | None = None
    ) -> ClaudeResult:
        argv = tuple(str(a) for a in args)
        try:
            done = subprocess.run(
                [str(self.binary), *argv],
                cwd=cwd or self.home,
                env=self.env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"claude {' '.join(argv)} ran past {timeout}s: {exc.output!r}")
        return ClaudeResult(argv, done.returncode, done.stdout, done.stderr)


def scratch_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A minimal environment whose every per-user directory is under `home`."""
    dirs = {
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "TMPDIR": home / "tmp",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        **{name: str(path) for name, path in dirs.items()},
        # No request leaves the machine: loopback goes direct, anything else to a dead proxy.
        "HTTPS_PROXY": DEAD_PROXY,
        "HTTP_PROXY": DEAD_PROXY,
        "https_proxy": DEAD_PROXY,
        "http_proxy": DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "no_proxy": "127.0.0.1,localhost,::1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        # git reads only the scratch HOME's configuration and never prompts.
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
    }
    env.update(extra or {})
    return env


@pytest.fixture
def claude(request: pytest.FixtureRequest, tmp_path: Path) -> ClaudeCode:
    """Claude Code's CLI with HOME in this test's tmp_path; skips when it is not installed."""
    request.node.add_marker(pytest.mark.claude_cli)
    binary = claude_binary()
    if binary is None:
        pytest.skip(INSTALL_HINT)
    home = tmp_path / "claude-home"
    home.mkdir()
    return ClaudeCode(binary=binary, home=home, env=scratch_env(home))
