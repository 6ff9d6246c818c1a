"""Fixtures for git sources: local upstream repositories and a site that may read them."""

import pytest

from tests.git.https_host import Certificate, make_certificate
from tests.gitrepo import LocalRepo


@pytest.fixture
def git_site(settings, tmp_path_factory):
    """Local repositories allowed, and a cache directory of the test's own."""
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_ALLOWED_HOSTS = []
    settings.GIT_CACHE_DIR = tmp_path_factory.mktemp("gitcache")
    settings.GIT_TIMEOUT = 30.0
    return settings


@pytest.fixture
def upstream(tmp_path_factory, git_site) -> LocalRepo:
    return LocalRepo(tmp_path_factory.mktemp("upstream") / "acme" / "skills")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (openssl), for the https git hosts of tests."""
    return make_certificate(tmp_path_factory.mktemp("tls"))
