"""Running the `git` command line safely (SPEC section 12).

Every git source's URL, path and ref come from users, so git is run as if it were reading from an
attacker: an argument list (never a shell), a clean environment with no system or global config,
no credential helper, askpass or terminal prompt, hooks pointed at /dev/null, only the https
transport (and file, when local repositories are allowed), redirects refused, received objects
checked, and a timeout after which the whole process group is killed.
"""

import base64
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from refresher.exceptions import GitFailed
from refresher.secrets import Secret

__all__ = ["Git", "GitFailed", "GitLogin", "classify"]

# Stderr phrases by which git (and the hosts behind it) say a repository does not exist or
# needs credentials we do not have; anything else that fails is taken as transient.
_NOT_FOUND = (
    "not found",
    "does not appear to be a git repository",
    "does not exist",
    "no such file or directory",
    "couldn't find remote ref",
    "not our ref",
    "the requested url returned error: 404",
)
_FORBIDDEN = (
    "could not read username",
    "could not read password",
    "authentication failed",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
    "permission denied",
)
MAX_STDERR = 2000


def classify(stderr: str, *, login: bool = False) -> str:
    """The entry code of a failed git command, from what it printed.

    A host that asks for credentials refused the login we sent (`upstream_unauthorized`), or,
    when we sent none, does not let us in (`upstream_forbidden`).
    """
    text = stderr.lower()
    if any(phrase in text for phrase in _FORBIDDEN):
        return "upstream_unauthorized" if login else "upstream_forbidden"
    if any(phrase in text for phrase in _NOT_FOUND):
        return "upstream_not_found"
    return "upstream_unavailable"


@dataclass(frozen=True)
class GitLogin:
    """A username and password (or token) for one https host, sent only to that host.

    It reaches git through git's environment alone (`GIT_CONFIG_COUNT` and friends: an
    `http.<url>.extraHeader` scoped to the host), never an argument, a URL or a config file, so
    no process listing, cache repository or error message can show it.
    """

    host: str  # host, or host:port, as the source names it
    username: str
    password: Secret

    def environment(self) -> dict[str, str]:
        pair = f"{self.username}:{self.password.reveal()}".encode()
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.https://{self.host}/.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {base64.b64encode(pair).decode()}",
        }


class Git:
    """One way to run git: the same hardened options and environment for every command."""

    def __init__(
        self,
        *,
        binary: str = "git",
        timeout: float = 60.0,
        allow_local: bool = False,
        home: Path,
        ca_bundle: str = "",
    ) -> None:
        self.binary = binary
        self.timeout = timeout
        self.allow_local = allow_local
        # The certificates git trusts for https, when not the system's (a private CA).
        self.ca_bundle = ca_bundle
        # HOME is a directory we own, so neither ~/.gitconfig nor ~/.netrc (which git's HTTP
        # transport would read for credentials) of the account the site runs as is used.
        self.home = home

    def options(self) -> list[str]:
        """The `-c` options every command runs with (they reach git's subprocesses too)."""
        local = "always" if self.allow_local else "never"
        settings = [
            "core.hooksPath=/dev/null",
            "core.fsmonitor=false",
            "protocol.allow=never",
            "protocol.https.allow=always",
            f"protocol.file.allow={local}",
            "credential.helper=",
            "core.askPass=",
            "http.followRedirects=false",
            "submodule.recurse=false",
            "fetch.fsckObjects=true",
            "transfer.fsckObjects=true",
            "gc.auto=0",
            "maintenance.auto=false",
        ]
        return [arg for setting in settings for arg in ("-c", setting)]

    def environment(self) -> dict[str, str]:
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            # Overrides any protocol.*.allow: a second lock on the same door.
            "GIT_ALLOW_PROTOCOL": "https:file" if self.allow_local else "https",
            "GIT_PROTOCOL_FROM_USER": "0",
            "GIT_SSH_COMMAND": "false",
        }
        if self.ca_bundle:
            # Only the CA file: nothing else of TLS verification can be turned off this way.
            environment["GIT_SSL_CAINFO"] = self.ca_bundle
        return environment

    def run(
        self,
        args: Sequence[str],
        *,
        git_dir: Path | None = None,
        stdin: bytes | None = None,
        timeout: float | None = None,
        login: GitLogin | None = None,
    ) -> bytes:
        """Run `git <args>` and return its stdout; raise GitFailed when it fails or times out.

        With a `login`, git sends it to the login's host (and nowhere else) through its
        environment.
        """
        command = [self.binary, *self.options()]
        if git_dir is not None:
            command.append(f"--git-dir={git_dir}")
        command.extend(args)
        limit = self.timeout if timeout is None else max(0.1, min(timeout, self.timeout))
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            # An argument list, never a shell.
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.environment() | (login.environment() if login else {}),
                cwd=self.home,
                # Its own process group, so a timeout also stops git's helpers (remote-https,
                # upload-pack) instead of leaving them behind.
                start_new_session=True,
            )
        except OSError as exc:
            raise GitFailed("upstream_unavailable", f"git could not be started: {exc}") from None
        try:
            out, err = process.communicate(stdin, timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            raise GitFailed(
                "upstream_unavailable", f"git {args[0]} did not finish within {limit:.0f} s"
            ) from None
        if process.returncode != 0:
            message = err.decode("utf-8", "replace").strip()[-MAX_STDERR:]
            code = classify(message, login=login is not None)
            raise GitFailed(code, f"git {args[0]} failed: {message or 'no output'}")
        return out


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
