"""Fixtures shared by every test: users, authenticated API clients."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.ci_gate import pytest_runtest_makereport  # noqa: F401  (a hook: CI runs every browser test)
from tests.claude_code import claude  # noqa: F401  (Claude Code's CLI with a scratch HOME)
from tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


@pytest.fixture
def staff_user(db):
    return UserFactory(username="staff", is_staff=True)


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def other_api(other_user) -> APIClient:
    return client_for(other_user)


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return client_for(staff_user)


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture
def read_plan() -> str:
    """The read plan refreshes use (REFRESH_UPSTREAM). REST unless a module runs both plans by
    overriding this fixture with `params=READ_PLANS`."""
    return "rest"


READ_PLANS = ["rest", "graphql"]


@pytest.fixture
def github(request, settings, read_plan):
    """A GitHub-compatible server on 127.0.0.1 that the refresher is pointed at.

    Under the GraphQL plan the test fails when GraphQL did not do the reading (a query GitHub
    refuses, an answer other than 200, a REST read), unless it is marked `allow_rest_fallback`.
    """
    from fakegithub import FakeGitHub
    from tests.graphql_strict import graphql_breaches

    fake = FakeGitHub().start()
    settings.GITHUB_API_URL = fake.url
    settings.GITHUB_GRAPHQL_URL = ""
    settings.GITHUB_TOKEN = fake.token
    settings.REFRESH_UPSTREAM = read_plan
    settings.REFRESH_MAX_RETRIES = 1
    settings.REFRESH_RETRY_BACKOFF = 0.01
    settings.REFRESH_HTTP_TIMEOUT = 2.0
    settings.REFRESH_MAX_INLINE_WAIT = 1.0
    yield fake
    fake.stop()
    if read_plan == "graphql" and request.node.get_closest_marker("allow_rest_fallback") is None:
        breaches = graphql_breaches(fake)
        if breaches:
            pytest.fail("GraphQL did not do the reading: " + "; ".join(breaches[:5]))


@pytest.fixture
def github_git(github, settings):
    """The GitHub fake as the web host too: GITHUB_WEB_URL names it, so the clone URLs the site
    gives (`<GITHUB_WEB_URL>/<owner>/<repo>.git`) reach its git smart HTTP. Sources are then
    written short (`owner/repo/path`) or on the fake's host, not as github.com URLs."""
    settings.GITHUB_WEB_URL = github.web_url
    return github


@pytest.fixture
def credential_keys(settings) -> list[str]:
    """CREDENTIAL_KEYS set to one fresh Fernet key, so credentials can be stored."""
    from cryptography.fernet import Fernet

    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]
    return settings.CREDENTIAL_KEYS


@pytest.fixture(scope="session")
def app_private_key() -> str:
    """A GitHub App's private key as GitHub hands it out: RSA 2048, PEM (PKCS#1)."""
    from tests.credentials_support import new_app_key

    return new_app_key()
