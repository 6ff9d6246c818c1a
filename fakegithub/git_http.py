"""Git's smart HTTP, as GitHub serves it on its web host, over the fake's repositories.

``GET /{owner}/{repo}.git/info/refs?service=git-upload-pack`` advertises the refs and
``POST /{owner}/{repo}.git/git-upload-pack`` answers fetches, both by ``git upload-pack
--stateless-rpc`` over the repository written to disk (git_repos.py), as ``git http-backend``
runs it: the client's ``Git-Protocol`` header becomes ``GIT_PROTOCOL`` (protocol v2, which partial
clones with ``--filter`` need), and filters and wants by SHA are allowed.

Who may read follows GitHub: a public repository needs no credentials; a private one needs a
token that may read it, sent with HTTP Basic (the token as the password, any user name) or as a
bearer. Without credentials, a repository that is private or missing answers 401 with a Basic
challenge (so git asks for credentials); with credentials that cannot read it, 404 "Repository
not found."; an unknown or revoked token, 401. Pushes are refused: the fake's repositories change
through its Python API only.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import logging
import re
import subprocess

from werkzeug.wrappers import Request, Response

from .endpoints import GIT_HTTP_PATH
from .errors import GitHubFailure
from .git_repos import GitRepos, git_env
from .identities import Identities, Identity
from .store import RepoStore

logger = logging.getLogger("fakegithub")

UPLOAD_PACK = "git-upload-pack"
UPLOAD_PACK_TIMEOUT = 120.0
CHALLENGE = {"WWW-Authenticate": 'Basic realm="GitHub"'}
NO_CACHE = {
    "Cache-Control": "no-cache, max-age=0, must-revalidate",
    "Expires": "Fri, 01 Jan 1980 00:00:00 GMT",
    "Pragma": "no-cache",
}
# What git sends in Git-Protocol: `key=value` pairs joined by `:` (version=2).
PROTOCOL_HEADER = re.compile(r"[A-Za-z0-9=:._-]{1,200}")


def credential_token(authorization: str) -> str | None:
    """The token an ``Authorization`` header carries for git: Basic's password (its user name
    when the password is empty), or a bearer's token; None without a header.

    Raises the 401 GitHub answers to a header it cannot read.
    """
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("bearer", "token") and value:
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _invalid_credentials() from None
        user, _, password = decoded.partition(":")
        if password or user:
            return password or user
    raise _invalid_credentials()


def _invalid_credentials() -> GitHubFailure:
    return GitHubFailure(
        401,
        "Invalid username or token. Password authentication is not supported for Git operations.",
        headers=CHALLENGE,
    )


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    response.headers.update(headers or {})
    return response


class GitHTTP:
    """The smart HTTP routes, reading the store through the tokens the fake knows."""

    def __init__(self, store: RepoStore, identities: Identities, repos: GitRepos) -> None:
        self._store = store
        self._identities = identities
        self._repos = repos

    @staticmethod
    def serves(path: str) -> bool:
        return GIT_HTTP_PATH.fullmatch(path) is not None

    def answer(self, request: Request, authorization: str) -> Response:
        match = GIT_HTTP_PATH.fullmatch(request.path)
        if match is None:
            return _text(404, "Not Found")
        try:
            identity = self._reader(authorization)
        except GitHubFailure as failure:
            return _text(failure.status, failure.message, failure.headers)
        endpoint = match["endpoint"]
        service = request.args.get("service") if endpoint == "info/refs" else endpoint
        full_name = f"{match['owner']}/{match['name']}"
        with self._store.lock:
            repo = self._store.get(full_name)
            readable = repo is not None and (
                identity.can_read(repo) if identity else not repo.private
            )
            if not readable:
                return self._not_found(identity)
            assert repo is not None
            if service != UPLOAD_PACK:
                return self._refused(identity, repo.full_name, service)
            path = str(self._repos.path_for(repo))
        if endpoint == "info/refs":
            if request.method not in ("GET", "HEAD"):
                return _text(405, "Method Not Allowed")
            return self._run(request, path, advertise=True)
        if request.method != "POST":
            return _text(405, "Method Not Allowed")
        if request.mimetype != "application/x-git-upload-pack-request":
            return _text(415, "Unsupported Media Type")
        return self._run(request, path, advertise=False)

    def _reader(self, authorization: str) -> Identity | None:
        token = credential_token(authorization)
        if token is None:
            return None
        try:
            return self._identities.identify(f"Bearer {token}")
        except GitHubFailure:
            raise _invalid_credentials() from None

    @staticmethod
    def _not_found(identity: Identity | None) -> Response:
        if identity is None:
            # GitHub asks for credentials rather than say whether the repository exists.
            return _text(401, "Authentication required", CHALLENGE)
        return _text(404, "Repository not found.")

    @staticmethod
    def _refused(identity: Identity | None, full_name: str, service: str | None) -> Response:
        if service is None:
            # Git falls back to the dumb protocol without `service`; GitHub serves smart only.
            return _text(403, "Please upgrade your git client: only smart HTTP is served.")
        if identity is None:
            return _text(401, "Authentication required", CHALLENGE)
        return _text(403, f"Permission to {full_name}.git denied to {identity.login}.")

    def _run(self, request: Request, path: str, *, advertise: bool) -> Response:
        protocol = request.headers.get("Git-Protocol", "")
        if protocol and not PROTOCOL_HEADER.fullmatch(protocol):
            return _text(400, "Bad Git-Protocol header")
        body = b"" if advertise else request.get_data()
        if request.headers.get("Content-Encoding", "").lower() in ("gzip", "x-gzip"):
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError):
                return _text(400, "Bad gzip body")
        argv = ["git", "upload-pack", "--stateless-rpc"]
        argv += ["--advertise-refs"] if advertise else []
        extra = {"GIT_PROTOCOL": protocol} if protocol else {}
        try:
            done = subprocess.run(
                [*argv, path],
                input=body,
                env=git_env(**extra),
                capture_output=True,
                timeout=UPLOAD_PACK_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return _text(504, "git upload-pack timed out")
        if done.returncode != 0 and not done.stdout:
            logger.warning("git upload-pack failed: %s", done.stderr.decode(errors="replace"))
            return _text(500, "git upload-pack failed")
        prefix = b""
        if advertise and "version=2" not in protocol.split(":"):
            # Protocol v0 and v1 answers start by naming the service (git http-backend does too).
            prefix = _pkt_line(f"# service={UPLOAD_PACK}\n") + b"0000"
        kind = "advertisement" if advertise else "result"
        response = Response(
            prefix + done.stdout, status=200, content_type=f"application/x-{UPLOAD_PACK}-{kind}"
        )
        response.headers.update(NO_CACHE)
        return response


def _pkt_line(text: str) -> bytes:
    data = text.encode()
    return f"{len(data) + 4:04x}".encode() + data
