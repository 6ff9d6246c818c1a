"""GitHub Apps as GitHub documents them: JWTs, installations, installation access tokens.

From GitHub's documentation ("Generating a JSON Web Token (JWT) for a GitHub App", "Generating an
installation access token", the REST reference's "GitHub Apps" pages): an App authenticates with
a JWT signed RS256 by one of its private keys, with ``iss`` its id, ``iat`` the time it was made
and ``exp`` no more than ten minutes ahead; GitHub refuses anything else with a 401 and a message
naming the claim. With it the App finds an installation (``GET /repos/{owner}/{repo}/installation``,
404 where it is not installed) and mints an installation access token
(``POST /app/installations/{id}/access_tokens``, 201), which expires after an hour and reads the
installation's repositories: all of its account's, or those selected.

The JWT is checked here with `cryptography` alone, from the compact form up, so that a signing
mistake in the site cannot be matched by the same mistake in a shared library call.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .errors import GitHubFailure
from .identities import Identities, Identity
from .quota import Quota
from .store import Repo

# GitHub's limit on a JWT's life; a JWT whose `exp` is further ahead is refused.
MAX_JWT_SECONDS = 600
# How far in the future an `iat` may be before GitHub calls it wrong (clock drift).
IAT_LEEWAY = 60
TOKEN_LIFETIME = 3600

UNDECODABLE = "A JSON web token could not be decoded"
EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
EXP_PAST = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
    "which the assertion expires"
)
IAT_WRONG = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was "
    "issued"
)


@dataclass
class Installation:
    """An App installed on one account: on all its repositories, or on those selected."""

    id: int
    app_id: int
    account: str
    account_type: str
    repositories: frozenset[str] | None  # lower-cased full names; None: every one
    quota: Quota
    created_at: float = field(default_factory=time.time)

    def covers(self, repo: Repo) -> bool:
        if repo.owner.lower() != self.account.lower():
            return False
        return self.repositories is None or repo.full_name.lower() in self.repositories


@dataclass
class App:
    """A registered App: its id, its public key (the one GitHub keeps of the private key)."""

    id: int
    slug: str
    name: str
    owner: str
    public_key: RSAPublicKey
    quota: Quota


class Apps:
    """The Apps the fake knows, their installations and the tokens they minted; thread-safe."""

    def __init__(self, identities: Identities) -> None:
        self.identities = identities
        self._apps: dict[int, App] = {}
        self._installations: dict[int, Installation] = {}
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self.token_lifetime: float = TOKEN_LIFETIME
        self.minted: list[int] = []  # the installation of every token minted, in order

    def add_app(self, app_id: int, public_key_pem: str, *, slug: str, owner: str) -> App:
        key = serialization.load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, RSAPublicKey):
            raise ValueError("a GitHub App's key is RSA")
        app = App(app_id, slug, slug.replace("-", " ").title(), owner, key, Quota(5000))
        with self._lock:
            self._apps[app_id] = app
        return app

    def install(
        self,
        app_id: int,
        account: str,
        *,
        repositories: Iterable[str] | None = None,
        account_type: str = "Organization",
        rate_limit: int = 5000,
    ) -> Installation:
        """Install the App on ``account`` (on every repository, or on those named)."""
        chosen = None if repositories is None else frozenset(r.lower() for r in repositories)
        with self._lock:
            if app_id not in self._apps:
                raise KeyError(f"no app {app_id}")
            installation = Installation(
                next(self._ids), app_id, account, account_type, chosen, Quota(rate_limit)
            )
            self._installations[installation.id] = installation
        return installation

    def installation(self, app: App, installation_id: int) -> Installation:
        with self._lock:
            found = self._installations.get(installation_id)
        if found is None or found.app_id != app.id:
            raise GitHubFailure(404)
        return found

    def installation_on(self, app: App, repo: Repo) -> Installation:
        """The App's installation covering ``repo``; 404 when there is none."""
        with self._lock:
            mine = [i for i in self._installations.values() if i.app_id == app.id]
        for installation in mine:
            if installation.covers(repo):
                return installation
        raise GitHubFailure(404)

    def mint(self, app: App, installation_id: int) -> tuple[str, float, Installation]:
        """A new installation access token, its expiry (epoch seconds) and its installation."""
        installation = self.installation(app, installation_id)
        token = "ghs_" + secrets.token_urlsafe(27)
        expires = time.time() + self.token_lifetime
        bot = Identity(
            "installation",
            f"{app.slug}[bot]",
            installation.quota,
            installation.covers,
            installation_id=installation.id,
            expires_at=expires,
        )
        self.identities.add(token, bot)
        with self._lock:
            self.minted.append(installation.id)
        return token, expires, installation

    def revoke_tokens(self, installation_id: int) -> int:
        """Revoke every token minted for the installation (as GitHub does when it is removed)."""
        return self.identities.revoke_where(lambda i: i.installation_id == installation_id)

    def authenticate(self, authorization: str) -> App:
        """The App whose JWT authorizes the request; GitHub's 401 otherwise."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
            raise GitHubFailure(401, UNDECODABLE)
        head, body, signature = token.split(".")
        header, claims = _json_part(head), _json_part(body)
        if header.get("alg") != "RS256":
            raise GitHubFailure(401, UNDECODABLE)
        with self._lock:
            app = self._apps.get(_int(claims.get("iss")) or -1)
        if app is None:
            raise GitHubFailure(401, UNDECODABLE)
        try:
            app.public_key.verify(
                _unbase64(signature),
                f"{head}.{body}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError):
            raise GitHubFailure(401, UNDECODABLE) from None
        _check_times(claims)
        return app


def _check_times(claims: dict[str, Any]) -> None:
    now = time.time()
    expires, issued = _int(claims.get("exp")), _int(claims.get("iat"))
    if expires is None or expires <= now:
        raise GitHubFailure(401, EXP_PAST)
    if expires - now > MAX_JWT_SECONDS:
        raise GitHubFailure(401, EXP_TOO_FAR)
    if issued is None or issued > now + IAT_LEEWAY:
        raise GitHubFailure(401, IAT_WRONG)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _unbase64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise GitHubFailure(401, UNDECODABLE) from None


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_unbase64(part))
    except (ValueError, UnicodeDecodeError):
        raise GitHubFailure(401, UNDECODABLE) from None
    if not isinstance(value, dict):
        raise GitHubFailure(401, UNDECODABLE)
    return value
