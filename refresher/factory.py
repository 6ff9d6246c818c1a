"""The one factory of the production providers and refresher, from settings.

The launch path (inline runs, the background task) and discovery build their refresher here: the
GitHub provider with its client, whose rate-limit state every process shares through the
database, and with the connector that builds the clients of users' credentials (each its own
account and quota), and the git provider with its cache directory.
"""

from pathlib import Path

from django.conf import settings

from refresher.engine import Refresher
from refresher.secrets import Secret, secret_box
from refresher.upstream.access import AppCredential
from refresher.upstream.git.cli import Git
from refresher.upstream.git.provider import GitProvider
from refresher.upstream.github.apps import GitHubApp, InstallationToken
from refresher.upstream.github.client import GitHubClient, StaticToken, TokenSource
from refresher.upstream.github.governor import QuotaGovernor
from refresher.upstream.github.installations import DatabaseInstallationStore
from refresher.upstream.github.provider import GitHubProvider
from refresher.upstream.github.quota import (
    INSTALLATION,
    TOKEN,
    DatabaseQuotaStore,
    governor_from_settings,
    installation_account,
)
from refresher.upstream.provider import Provider


def github_client_from_settings() -> GitHubClient:
    """A client whose rate-limit state is shared with every process through the database."""
    return github_client(
        token=settings.GITHUB_TOKEN,
        # Shared with every process through the database (refresher.upstream.github.quota).
        quota=governor_from_settings(),
    )


def github_client(
    *,
    token: str = "",
    auth: TokenSource | None = None,
    quota: QuotaGovernor | None = None,
    max_retries: int | None = None,
) -> GitHubClient:
    """A client of the configured GitHub, with the site's timeouts, retries and concurrency."""
    return GitHubClient(
        base_url=settings.GITHUB_API_URL,
        graphql_url=settings.GITHUB_GRAPHQL_URL,
        token=token,
        auth=auth,
        timeout=settings.REFRESH_HTTP_TIMEOUT,
        max_retries=settings.REFRESH_MAX_RETRIES if max_retries is None else max_retries,
        backoff=settings.REFRESH_RETRY_BACKOFF,
        concurrency=settings.REFRESH_CONCURRENCY,
        max_inline_wait=settings.REFRESH_MAX_INLINE_WAIT,
        quota=quota,
    )


class CredentialConnector:
    """What reading as a collection's credentials needs (`accounts.Connector`): their clients,
    each with its account's quota shared through the database, and their Apps, whose
    installations and tokens are kept encrypted in the database."""

    def token_client(self, token: Secret) -> GitHubClient:
        store = DatabaseQuotaStore(
            api_url=settings.GITHUB_API_URL, token=token.reveal(), kind=TOKEN
        )
        return github_client(auth=StaticToken(token), quota=QuotaGovernor(store))

    def installation_client(self, app: GitHubApp, installation_id: int) -> GitHubClient:
        account = installation_account(settings.GITHUB_API_URL, installation_id)
        store = DatabaseQuotaStore(
            api_url=settings.GITHUB_API_URL, account=account, kind=INSTALLATION
        )
        auth = InstallationToken(app, installation_id)
        return github_client(auth=auth, quota=QuotaGovernor(store))

    def app(self, credential: AppCredential) -> GitHubApp:
        def connect(bearer: Secret) -> GitHubClient:
            # The App's own requests (installations, tokens) count on neither quota above.
            return github_client(auth=StaticToken(bearer))

        return GitHubApp(
            app_id=credential.app_id,
            private_key=credential.private_key,
            connect=connect,
            store=DatabaseInstallationStore(credential.ref.id, secret_box()),
            installation_id=credential.installation_id,
        )


def git_from_settings() -> Git:
    """The hardened git runner, with the site's binary, timeout, policy and trusted CAs."""
    return Git(
        binary=settings.GIT_BINARY,
        timeout=settings.GIT_TIMEOUT,
        allow_local=settings.GIT_ALLOW_LOCAL,
        home=Path(settings.GIT_CACHE_DIR) / "home",
        ca_bundle=settings.GIT_SSL_CA_BUNDLE,
    )


def git_provider_from_settings() -> GitProvider:
    return GitProvider(git_from_settings(), Path(settings.GIT_CACHE_DIR))


def providers_from_settings() -> list[Provider]:
    """GitHub (through the read plan `REFRESH_UPSTREAM` names) and git sources."""
    github = GitHubProvider(
        github_client_from_settings(),
        plan=settings.REFRESH_UPSTREAM,
        connector=CredentialConnector(),
    )
    return [github, git_provider_from_settings()]


def refresher_from_settings() -> Refresher:
    """A refresher over the providers above; close it (or use it in a `with` block) when done."""
    return Refresher(providers=providers_from_settings(), concurrency=settings.REFRESH_CONCURRENCY)
