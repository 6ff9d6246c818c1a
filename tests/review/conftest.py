"""The review tests run against the GitHub fake through both read plans and against real git
repositories: `kit` is the upstream of each, in turn."""

import pytest

from tests.gitrepo import LocalRepo
from tests.review_kit import Kit
from tests.webhooks.payloads import SECRET

KINDS = ["rest", "graphql", "git"]


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return str(request.param)


@pytest.fixture
def read_plan(kind) -> str:
    return "graphql" if kind == "graphql" else "rest"


@pytest.fixture
def kit(kind, request, settings, tmp_path_factory) -> Kit:
    # Push runs are queued and carried out by the (immediate) task backend.
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    settings.REFRESH_TASK_BACKEND = "default"
    if kind == "git":
        settings.GIT_ALLOW_LOCAL = True
        settings.GIT_CACHE_DIR = tmp_path_factory.mktemp("gitcache")
        settings.GIT_TIMEOUT = 30.0
        return Kit(kind, repo=LocalRepo(tmp_path_factory.mktemp("upstream") / "acme" / "kit"))
    return Kit(kind, github=request.getfixturevalue("github"))
