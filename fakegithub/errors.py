"""The failure a route raises, and the documentation links GitHub puts in its error bodies."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from .json_types import JSON

DOCS_URL = "https://docs.github.com/rest"
RATE_LIMIT_DOCS_URL = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
REDIRECT_DOCS_URL = (
    "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects"
)
GRAPHQL_DOCS_URL = "https://docs.github.com/graphql"
GRAPHQL_AUTH_DOCS_URL = (
    "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
)

# What GitHub says when a token sends too much too fast (a secondary rate limit).
SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
SECONDARY_LIMIT_DOCS_URL = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


class GitHubFailure(Exception):
    """An error answer in GitHub's shape (`message`, `documentation_url`, `status`)."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        documentation_url: str = DOCS_URL,
        extra: Mapping[str, JSON] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.message = message or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.documentation_url = documentation_url
        self.extra = dict(extra or {})

    def body(self) -> dict[str, JSON]:
        """The JSON body GitHub sends with this status."""
        return {
            "message": self.message,
            "documentation_url": self.documentation_url,
            "status": str(self.status),
            **self.extra,
        }
