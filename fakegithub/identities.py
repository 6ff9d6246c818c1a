"""Who a request comes from, as GitHub tells bearers apart, and which repositories each may read.

GitHub's documentation (https://docs.github.com/en/rest/authentication): a request carries a
token in ``Authorization: Bearer <token>`` (or ``token <token>``); an unknown, revoked or expired
one is ``401 Bad credentials``; a private repository a token may not read answers 404, exactly
as one that does not exist. Primary rate limits are counted per user token and per GitHub App
installation, each in its own hour.

Three kinds of bearer here: the fake's own token (``FakeGitHub.token``), which reads every
repository as an organisation-wide token would; user tokens a test adds, with the private
repositories they may read; and installation tokens, which an App mints (``apps.py``) and which
read their installation's repositories until they expire.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .errors import GitHubFailure
from .quota import Quota
from .store import Repo

ALL = "all"


@dataclass
class Identity:
    """One bearer: its login, its own quota, and the private repositories it may read."""

    kind: str  # "token" (a user's or the fake's own) or "installation"
    login: str
    quota: Quota
    reads_private: Callable[[Repo], bool]
    user_id: int = 1
    installation_id: int = 0
    expires_at: float | None = None  # installation tokens expire

    def can_read(self, repo: Repo) -> bool:
        """Public repositories, and the private ones granted to this bearer."""
        return not repo.private or self.reads_private(repo)


def _named(names: Iterable[str]) -> Callable[[Repo], bool]:
    wanted = frozenset(name.lower() for name in names)
    return lambda repo: repo.full_name.lower() in wanted


def anyone_can_read(repo: Repo) -> bool:
    """What a request without a token may read: public repositories only."""
    return not repo.private


@dataclass
class Identities:
    """Every token the fake knows, the revoked ones, and whose each is; thread-safe."""

    own_token: str
    own_quota: Quota
    _tokens: dict[str, Identity] = field(default_factory=dict)
    _revoked: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.set_own_token(self.own_token)

    def set_own_token(self, token: str) -> None:
        """The fake's own token (it reads every repository); the one it replaces is forgotten."""
        with self._lock:
            self._tokens.pop(self.own_token, None)
            self.own_token = token
            if token:
                self._tokens[token] = Identity(
                    "token", "fake-site-bot", self.own_quota, lambda repo: True
                )

    def add_token(
        self,
        token: str,
        *,
        login: str,
        private: Iterable[str] | str = (),
        rate_limit: int = 5000,
    ) -> Identity:
        """A user's token that reads every public repository and the named private ones
        (``"all"``: every private repository)."""
        reads: Callable[[Repo], bool] = (
            (lambda repo: True)
            if private == ALL
            else _named([private] if isinstance(private, str) else private)
        )
        identity = Identity(
            "token",
            login,
            Quota(rate_limit),
            reads,
            user_id=int(hashlib.sha1(login.lower().encode()).hexdigest()[:7], 16),
        )
        with self._lock:
            self._tokens[token] = identity
            self._revoked.discard(token)
        return identity

    def add(self, token: str, identity: Identity) -> None:
        """A token minted elsewhere (an App installation's)."""
        with self._lock:
            self._tokens[token] = identity

    def revoke(self, token: str) -> None:
        """GitHub answers 401 to a revoked token from now on."""
        with self._lock:
            self._revoked.add(token)

    def revoke_where(self, matches: Callable[[Identity], bool]) -> int:
        """Revoke every token whose identity matches; how many."""
        with self._lock:
            gone = [token for token, identity in self._tokens.items() if matches(identity)]
            self._revoked.update(gone)
        return len(gone)

    def identify(self, authorization: str) -> Identity | None:
        """The bearer of an ``Authorization`` header; None without one; 401 for a token GitHub
        does not accept (unknown, revoked, expired, or not a token at all)."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token:
            raise bad_credentials()
        with self._lock:
            identity = self._tokens.get(token)
            revoked = token in self._revoked
        if identity is None or revoked:
            raise bad_credentials()
        if identity.expires_at is not None and identity.expires_at <= time.time():
            raise bad_credentials()
        return identity


def bad_credentials() -> GitHubFailure:
    """GitHub's answer to a token it does not accept."""
    return GitHubFailure(401, "Bad credentials")
