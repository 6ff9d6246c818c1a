"""What the GitHub fake writes down from GitHub's documentation, since it shares no code with
the client: endpoint kinds, rate-limit resources, and the free `GET /rate_limit`."""

import httpx
import pytest

from fakegithub import FakeGitHub
from fakegithub.endpoints import endpoint_kind, rate_limit_resource


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/repos/o/r", "repo"),
        ("/repositories/12/", "repo"),
        ("/repos/o/r/git/ref/heads/main", "ref"),
        ("/repos/o/r/git/refs/tags/v1", "ref"),
        ("/repos/o/r/git/tags/" + "a" * 40, "tag"),
        ("/repositories/12/git/trees/main?recursive=1", "tree"),
        ("/repos/o/r/git/blobs/" + "b" * 40, "blob"),
        ("/repos/o/r/contents", "contents"),
        ("/repos/o/r/contents/skills/pdf", "contents"),
        ("/repos/o/r/commits/main", "commits"),
        ("/graphql", "graphql"),
        ("/repos/o/r/issues", "other"),
        ("/rate_limit", "other"),
    ],
)
def test_endpoint_kinds(path, kind):
    assert endpoint_kind(path) == kind


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/repos/o/r", "core"),
        ("/search/code", "search"),
        ("/graphql", "graphql"),
        ("/api/graphql", "graphql"),
        ("/rate_limit", None),
    ],
)
def test_rate_limit_resources(path, resource):
    assert rate_limit_resource(path) == resource


def test_rate_limit_is_free_and_everything_else_is_billed():
    with FakeGitHub() as fake:
        headers = {"Authorization": f"Bearer {fake.token}"}
        for _ in range(3):
            free = httpx.get(f"{fake.url}/rate_limit", headers=headers)
            assert free.json()["resources"]["core"]["remaining"] == fake.rate_limit
        missing = httpx.get(f"{fake.url}/repos/o/nothing", headers=headers)
        assert missing.status_code == 404
        assert missing.headers["x-ratelimit-remaining"] == str(fake.rate_limit - 1)
        assert fake.count() == 4
