"""The one factory that builds the production GitHub client from settings."""

from django.conf import settings

from refresher.github import GitHubClient


def github_client_from_settings() -> GitHubClient:
    return GitHubClient(
        base_url=settings.GITHUB_API_URL,
        graphql_url=settings.GITHUB_GRAPHQL_URL,
        token=settings.GITHUB_TOKEN,
        timeout=settings.REFRESH_HTTP_TIMEOUT,
        max_retries=settings.REFRESH_MAX_RETRIES,
        backoff=settings.REFRESH_RETRY_BACKOFF,
        concurrency=settings.REFRESH_CONCURRENCY,
        max_inline_wait=settings.REFRESH_MAX_INLINE_WAIT,
    )
