"""Which account reads each GitHub repository of a run, and the client that reads as it.

SPEC 16's rule, per repository: a GitHub App of the collection installed on the repository's
owner, else the collection's first GitHub token, else the site's own token (which reads private
repositories only for the collections SITE_TOKEN_PRIVATE_REPOS names). Each account has its own
client, so its own quota (an App installation has its own hour) and its own refusal: a 401 stops
that account's reads and no other account is tried for its repositories in that run.

Routing runs on the engine's thread before any read (finding an App's installation asks GitHub
with the App's JWT; what earlier runs found is kept). Plain Python: the clients and Apps come
from an injected `Connector` (the factory's), and no model is imported.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from refresher.secrets import Secret
from refresher.upstream.access import (
    SITE_TOKEN,
    Access,
    AppCredential,
    ReadAs,
    TokenCredential,
)
from refresher.upstream.github.apps import GitHubApp, Installation
from refresher.upstream.github.client import GitHubError
from refresher.upstream.github.rest import GitHubAPI
from refresher.upstream.reads import Target

logger = logging.getLogger("refresher.github")


@dataclass(frozen=True, slots=True)
class Account:
    """One account a run reads GitHub as: the site's token, a token, or an App installation."""

    key: str  # "site", "token:<credential id>", "installation:<credential id>:<id>"
    read_as: ReadAs
    installation: int = 0
    # Why this account cannot read at all (a secret no key opens, an App key GitHub refused);
    # its repositories fail with upstream_unauthorized, and no other account is tried for them.
    refused: str = ""


class Connector(Protocol):
    """Builds what reading as an account needs; the factory's, from settings."""

    def token_client(self, token: Secret) -> GitHubAPI: ...

    def installation_client(self, app: GitHubApp, installation_id: int) -> GitHubAPI: ...

    def app(self, credential: AppCredential) -> GitHubApp: ...


class Accounts:
    """One run's accounts: routes its repositories, holds its clients until `close()`."""

    def __init__(self, access: Access, site: GitHubAPI, connector: Connector | None) -> None:
        self.access = access
        self.site = Account("site", ReadAs(SITE_TOKEN.label, private=access.site_private))
        self._site_client = site
        self._connector = connector
        self._apps: dict[uuid.UUID, GitHubApp] = {}
        self._refused_apps: dict[uuid.UUID, str] = {}
        self._clients: dict[str, GitHubAPI] = {}
        self.used: set[uuid.UUID] = set()

    def route(self, targets: Sequence[Target]) -> dict[Account, list[Target]]:
        """Each target under the account that reads its repository (engine thread only)."""
        plan: dict[Account, list[Target]] = {}
        chosen: dict[str, Account] = {}
        for target in targets:
            source = target.source
            key = source.full_name.lower()
            if key not in chosen:
                chosen[key] = self._account_for(source.owner, source.repo)
            plan.setdefault(chosen[key], []).append(target)
        return plan

    def _account_for(self, owner: str, repo: str) -> Account:
        if self._connector is not None:
            for credential in self.access.apps:
                account = self._installed(credential, owner, repo)
                if account is not None:
                    return account
        token = self.access.token
        if token is not None:
            return self._token_account(token)
        return self.site

    def _installed(self, credential: AppCredential, owner: str, repo: str) -> Account | None:
        """The account of this App's installation on `owner`, or None when it has none.

        An App that cannot be asked (a secret no key opens, a key GitHub refuses) might cover any
        owner: every repository that reaches it fails as refused, rather than being read by the
        next credential in its place.
        """
        refusal = self._refused_apps.get(credential.ref.id)
        if refusal is None and credential.refused:
            refusal = self._refused_apps[credential.ref.id] = credential.refused
        found: Installation | None = None
        if refusal is None:
            app = self._app(credential)
            try:
                found = app.installation_for(owner, repo)
            except GitHubError as exc:
                if exc.code != "upstream_unauthorized":
                    logger.warning("could not ask where %s is installed: %s", credential, exc)
                    return None
                refusal = self._refused_apps[credential.ref.id] = exc.message
        if refusal is not None:
            return Account(
                f"refused:{credential.ref.id}",
                ReadAs(credential.ref.describe(), private=True, credential=credential.ref),
                refused=refusal,
            )
        if found is None:
            return None
        label = f"{credential.ref.describe()}, installation {found.id}"
        return Account(
            f"installation:{credential.ref.id}:{found.id}",
            ReadAs(label, private=True, credential=credential.ref),
            installation=found.id,
        )

    def _token_account(self, token: TokenCredential) -> Account:
        return Account(
            f"token:{token.ref.id}",
            ReadAs(token.ref.describe(), private=True, credential=token.ref),
            refused=token.refused,
        )

    def _app(self, credential: AppCredential) -> GitHubApp:
        app = self._apps.get(credential.ref.id)
        if app is None:
            assert self._connector is not None
            app = self._apps[credential.ref.id] = self._connector.app(credential)
            app.prepare()
        return app

    def client(self, account: Account) -> GitHubAPI:
        """The client that reads as `account` (made once per run)."""
        if account.read_as.credential is not None:
            self.used.add(account.read_as.credential.id)
        if account is self.site or account.key == "site":
            return self._site_client
        client = self._clients.get(account.key)
        if client is None:
            assert self._connector is not None
            credential = account.read_as.credential
            if account.installation:
                assert credential is not None
                app = self._apps[credential.id]
                client = self._connector.installation_client(app, account.installation)
            else:
                token = next(t for t in self.access.tokens if t.ref == credential)
                client = self._connector.token_client(token.token)
            self._clients[account.key] = client
        return client

    def close(self) -> None:
        """Keep what the Apps found and minted, and close the run's own clients (engine thread)."""
        for app in self._apps.values():
            try:
                app.flush()
            except Exception:
                # The tokens are a saving only: a run must not fail because they were not kept.
                logger.warning("could not keep a GitHub App's installation tokens", exc_info=True)
        for client in self._clients.values():
            client.close()
        self._clients.clear()
