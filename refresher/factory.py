"""The one factory that builds the production GitHub client and refresher from settings.

The service (inline runs) and the task worker (background runs) both build their refresher here,
so neither has to import the other.
"""

from django.conf import settings

from refresher.engine import Refresher
from refresher.upstream.git.provider import git_provider_from_settings
from refresher.upstream.github.client import GitHubClient
from refresher.upstream.github.quota import governor_from_settings


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


def refresher_from_settings() -> Refresher:
    """A refresher reading GitHub with the client above, and git sources through the git
    command line; close its `client` when done."""
    return Refresher(
        github_client_from_settings(),
        concurrency=settings.REFRESH_CONCURRENCY,
        providers=[git_provider_from_settings()],
    )
