"""Fixtures of the marketplace tests: a local upstream repository holding one artifact of each
type, and a collection synced from it."""

import pytest

from collections_app.models import Collection
from refresher.models import Mode, RunStatus
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from tests.factories import ArtifactFactory, CollectionFactory
from tests.gitrepo import LocalRepo
from tests.marketplace_kit import UPSTREAM_ARTIFACTS, UPSTREAM_FILES


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
    repo = LocalRepo(tmp_path_factory.mktemp("upstream") / "acme" / "kit")
    repo.commit(UPSTREAM_FILES, "initial")
    return repo


@pytest.fixture
def synced(user, upstream) -> Collection:
    """`user`'s collection "Team Kit" with one artifact of each type, synced at the head."""
    collection = CollectionFactory(owner=user, name="Team Kit", description="What we use.")
    for kind, name, path in UPSTREAM_ARTIFACTS:
        ArtifactFactory(collection=collection, type=kind, name=name, source=upstream.source(path))
    run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    assert run.status == RunStatus.COMPLETED, list(run.entries.values("error_message"))
    return collection
