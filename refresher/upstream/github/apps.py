"""GitHub Apps: the app's JWT, finding its installations, and their access tokens.

An App authenticates as itself with a short JWT signed by its private key (RS256; `iss` the app
id, `iat` 60 s in the past against clock drift, `exp` under GitHub's 10-minute limit), and reads
repositories with installation access tokens it mints with that JWT
(`POST /app/installations/{id}/access_tokens`, an hour's life). Which installation covers a
repository's owner is asked once (`GET /repos/{owner}/{repo}/installation`) unless the
credential names it.

Tokens are kept until five minutes before their `expires_at`, in a store every process shares
(injected, like the quota governor's: the database one is `installations.py` beside this module),
and minted again once when GitHub refuses one (401) before its time. Plain Python: no models.
The store is used only by the thread that owns the database connection (`prepare` and `flush`);
reads on worker threads only ask this object's memory, or GitHub.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from refresher.exceptions import AppKeyError
from refresher.json_types import JSON
from refresher.secrets import Secret
from refresher.upstream.github.app_keys import JWT_RENEW_BEFORE, app_jwt, load_private_key
from refresher.upstream.github.client import GitHubError, GitHubResponse

# An installation token is not used in its last five minutes: a read may outlast it.
TOKEN_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Installation:
    """An installation of the app on one account, with its latest token when there is one."""

    id: int
    account: str  # the login the app is installed on, lower-cased
    token: Secret | None = None
    expires_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        """Whether its token may still be used: present and not in its last five minutes."""
        return (
            self.token is not None
            and self.expires_at is not None
            and self.expires_at - TOKEN_MARGIN > now
        )


class InstallationStore(Protocol):
    """Where installations and their tokens are kept between runs (the database in production)."""

    def load(self) -> list[Installation]: ...

    def save(self, installations: Sequence[Installation]) -> None: ...


class AppAPI(Protocol):
    """What minting needs of a GitHub client (`client.GitHubClient` satisfies it)."""

    def get(self, path: str) -> GitHubResponse: ...

    def post(self, path: str, *, json: JSON, resource: str = ...) -> GitHubResponse: ...

    def close(self) -> None: ...


# Builds a client that sends the given bearer token (the app's JWT) to the GitHub API.
ClientFactory = Callable[[Secret], AppAPI]


class GitHubApp:
    """One App credential: its JWT, its installations and their tokens, for one run.

    `prepare()` (the engine's thread) reads the store; `installation_for()` and `token()` find
    and mint what is missing; `renew()` mints again after a 401, at most once per installation;
    `flush()` (the engine's thread) writes what changed back. Every method is thread-safe.
    """

    def __init__(
        self,
        *,
        app_id: int,
        private_key: Secret,
        connect: ClientFactory,
        store: InstallationStore | None = None,
        installation_id: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self._pem = private_key
        self._key: RSAPrivateKey | None = None
        self._connect = connect
        self._store = store
        self.installation_id = installation_id
        self._clock = clock
        self._lock = threading.RLock()
        self._jwt: tuple[Secret, float] | None = None
        self._by_id: dict[int, Installation] = {}
        self._missing: set[str] = set()  # owners the app is not installed on (this run)
        self._renewed: set[int] = set()
        self._dirty: set[int] = set()
        self._prepared = False

    def __repr__(self) -> str:
        return f"GitHubApp(app_id={self.app_id!r})"

    # -- the store ------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Load the installations and tokens earlier runs kept (engine thread only)."""
        with self._lock:
            if self._prepared:
                return
            self._prepared = True
            if self._store is not None:
                for installation in self._store.load():
                    self._by_id.setdefault(installation.id, installation)

    def flush(self) -> None:
        """Keep what this run found and minted for the next runs (engine thread only)."""
        with self._lock:
            changed = [self._by_id[i] for i in sorted(self._dirty)]
            self._dirty.clear()
        if changed and self._store is not None:
            self._store.save(changed)

    # -- installations --------------------------------------------------------------------------

    def installation_for(self, owner: str, repo: str) -> Installation | None:
        """The installation covering `owner` (found through its repository `repo`), or None
        when the app is not installed there. GitHubError when GitHub refuses the app."""
        owner = owner.lower()
        with self._lock:
            if self.installation_id is not None:
                named = self._named_installation()
                return named if named.account == owner else None
            for installation in self._by_id.values():
                if installation.account == owner:
                    return installation
            if owner in self._missing:
                return None
        try:
            answer = self._as_app(lambda api: api.get(f"/repos/{owner}/{repo}/installation"))
        except GitHubError as exc:
            if exc.code != "upstream_not_found":
                raise
            with self._lock:
                self._missing.add(owner)
            return None
        return self._remember(_installation_of(answer.data))

    def _named_installation(self) -> Installation:
        assert self.installation_id is not None
        known = self._by_id.get(self.installation_id)
        if known is not None:
            return known
        answer = self._as_app(lambda api: api.get(f"/app/installations/{self.installation_id}"))
        return self._remember(_installation_of(answer.data))

    def _remember(self, installation: Installation) -> Installation:
        with self._lock:
            known = self._by_id.get(installation.id)
            if known is not None and known.account == installation.account:
                return known
            self._by_id[installation.id] = installation
            self._dirty.add(installation.id)
            return installation

    # -- tokens ---------------------------------------------------------------------------------

    def token(self, installation_id: int) -> Secret:
        """A token of the installation: the kept one while it is usable, else a new one."""
        with self._lock:
            known = self._by_id.get(installation_id)
            if known is not None and known.usable(self._now()) and known.token is not None:
                return known.token
            return self._mint(installation_id)

    def renew(self, installation_id: int, refused: Secret) -> Secret | None:
        """After GitHub refused `refused` (401): a new token, once per installation and run;
        None when this run already minted again, or when a newer token is not at hand."""
        with self._lock:
            known = self._by_id.get(installation_id)
            if known is not None and known.token is not None and known.token != refused:
                return known.token  # another thread already minted a newer one
            if installation_id in self._renewed:
                return None
            self._renewed.add(installation_id)
            return self._mint(installation_id)

    def _mint(self, installation_id: int) -> Secret:
        answer = self._as_app(
            lambda api: api.post(
                f"/app/installations/{installation_id}/access_tokens", json={}, resource="core"
            )
        )
        minted = _minted(answer.data)
        if minted is None:
            raise GitHubError(
                code="upstream_unavailable",
                message=f"GitHub answered installation {installation_id}'s token without one",
            )
        token, expires = minted
        known = self._by_id.get(installation_id) or Installation(installation_id, "")
        self._by_id[installation_id] = replace(known, token=token, expires_at=expires)
        self._dirty.add(installation_id)
        return token

    # -- as the app itself ----------------------------------------------------------------------

    def slug(self) -> str:
        """The App's slug, as GitHub knows the App this key signs for (`GET /app`)."""
        answer = self._as_app(lambda api: api.get("/app"))
        data = answer.data if isinstance(answer.data, dict) else {}
        slug = data.get("slug")
        return slug if isinstance(slug, str) else str(self.app_id)

    def private_key(self) -> RSAPrivateKey:
        """The app's key, read once; AppKeyError when it cannot be used."""
        with self._lock:
            if self._key is None:
                self._key = load_private_key(self._pem)
            return self._key

    def bearer(self) -> Secret:
        """The app's JWT, made again when less than a minute of it is left."""
        with self._lock:
            now = self._clock()
            if self._jwt is None or self._jwt[1] - now < JWT_RENEW_BEFORE:
                self._jwt = app_jwt(self.app_id, self.private_key(), now=now)
            return self._jwt[0]

    def _as_app(self, request: Callable[[AppAPI], GitHubResponse]) -> GitHubResponse:
        try:
            bearer = self.bearer()
        except AppKeyError as exc:
            raise GitHubError(
                code="upstream_unauthorized",
                message=f"the app's private key cannot be used: {exc}",
                permanent=True,
            ) from None
        api = self._connect(bearer)
        try:
            return request(api)
        finally:
            api.close()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _installation_of(data: object) -> Installation:
    """An installation object of GitHub's REST API (`id`, `account.login`)."""
    if isinstance(data, dict):
        account = data.get("account")
        login = account.get("login") if isinstance(account, dict) else None
        ident = data.get("id")
        if isinstance(ident, int) and not isinstance(ident, bool) and isinstance(login, str):
            return Installation(ident, login.lower())
    raise GitHubError(
        code="upstream_unavailable", message="GitHub answered an installation without id or account"
    )


def _minted(data: object) -> tuple[Secret, datetime] | None:
    """The token and expiry of an access-token answer; the token goes nowhere as plain text."""
    if not isinstance(data, dict) or not isinstance(data.get("token"), str):
        return None
    expires = _parse_time(data.get("expires_at"))
    return (Secret(data["token"]), expires) if data["token"] and expires else None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class InstallationToken:
    """A client's token source (`client.TokenSource`) for one installation of an App."""

    def __init__(self, app: GitHubApp, installation_id: int) -> None:
        self._app = app
        self.installation_id = installation_id

    def __repr__(self) -> str:
        return f"InstallationToken(installation_id={self.installation_id!r})"

    def current(self) -> Secret:
        return self._app.token(self.installation_id)

    def refused(self, token: Secret) -> Secret | None:
        return self._app.renew(self.installation_id, token)
