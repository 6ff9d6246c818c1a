"""The one factory of the production providers and refresher, from settings.

The launch path (inline runs, the background task) and discovery build their refresher here: the
GitHub provider with its client, whose rate-limit state every process shares through the
database, and the git provider with its cache directory.
"""

from pathlib import Path

from django.conf import settings

from refresher.engine import Refresher
from refresher.upstream.git.cli import Git
from refresher.upstream.git.provider import GitProvider
from refresher.upstream.github.client import GitHubClient
from refresher.upstream.github.provider import GitHubProvider
from refresher.upstream.github.quota import governor_from_settings
from refresher.upstream.provider import Provider


def github_client_from_settings() -> GitHubClient:
    """A client whose rate-limit state is shared with every process through the database."""
    return GitHubClient(
        base_url=settings.GITHUB_API_URL,
        graphql_url=settings.GITHUB_GRAPHQL_URL,
        token=settings.GITHUB_TOKEN,
        timeout=settings.REFRESH_HTTP_TIMEOUT,
        max_retries=settings.REFRESH_MAX_RETRIES,
        backoff=settings.REFRESH_RETRY_BACKOFF,
        concurrency=settings.REFRESH_CONCURRENCY,
        max_inline_wait=settings.REFRESH_MAX_INLINE_WAIT,
        # Shared with every process through the database (refresher.upstream.github.quota).
        quota=governor_from_settings(),
    )


def git_provider_from_settings() -> GitProvider:
    cache_dir = Path(settings.GIT_CACHE_DIR)
    git = Git(
        binary=settings.GIT_BINARY,
        timeout=settings.GIT_TIMEOUT,
        allow_local=settings.GIT_ALLOW_LOCAL,
        home=cache_dir / "home",
        ca_bundle=settings.GIT_SSL_CA_BUNDLE,
    )
    return GitProvider(git, cache_dir)


def providers_from_settings() -> list[Provider]:
    """GitHub (through the read plan `REFRESH_UPSTREAM` names) and git sources."""
    github = GitHubProvider(github_client_from_settings(), plan=settings.REFRESH_UPSTREAM)
    return [github, git_provider_from_settings()]


def refresher_from_settings() -> Refresher:
    """A refresher over the providers above; close it (or use it in a `with` block) when done."""
    return Refresher(providers=providers_from_settings(), concurrency=settings.REFRESH_CONCURRENCY)
