"""Which web host's source URLs belong to the configured GitHub API (SPEC section 10)."""

from urllib.parse import urlsplit

GITHUB_COM = "https://github.com"


def default_github_web_url(api_url: str) -> str:
    """The web host that goes with an API URL when GITHUB_WEB_URL does not say.

    A GitHub Enterprise server serves its API under `/api/v3` of its own host, so its sources are
    written with that host; any other API URL (api.github.com, or a local test server standing in
    for it) serves github.com's repositories.
    """
    parts = urlsplit(api_url)
    if parts.path.rstrip("/").endswith("/api/v3") and parts.hostname:
        return f"{parts.scheme}://{parts.netloc}"
    return GITHUB_COM
