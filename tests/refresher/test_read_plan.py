"""The REST read plan's hosts, names and shortcuts (SPEC 4 and 10).

Source URLs are read only from the API of their own host; owner and repository names are
case-insensitive; a renamed repository is read once through the redirect and reported; blob sizes
come from the tree before any download; a recursive tree that fails falls back to listings.
"""

import pytest

from refresher.models import EntryStatus
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from refresher.sources import SourceKind, parse_source
from skillmeat_site.github_hosts import default_github_web_url
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import PDF_DESCRIPTION, fixture_text

pytestmark = pytest.mark.django_db

SKILL = fixture_text("skill-pdf.md")


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user)


@pytest.fixture
def repo(github):
    github.add_repo("acme/skills", files={"skills/pdf/SKILL.md": SKILL, "README.md": "# S\n"})
    return "acme/skills"


def entries(run) -> dict[str, object]:
    return {e.artifact_key: e for e in run.entries.all()}


# -- hosts ----------------------------------------------------------------------------------


def test_github_enterprise_sources_are_read_and_github_com_ones_are_not(
    github, repo, collection, settings
):
    settings.GITHUB_WEB_URL = "https://ghe.example.com"
    ArtifactFactory(
        collection=collection,
        name="pdf",
        source="https://ghe.example.com/acme/skills/tree/main/skills/pdf",
    )
    ArtifactFactory(
        collection=collection,
        name="public",
        source="https://github.com/acme/skills/tree/main/skills/pdf",
    )

    run = refresh_now(collection, RefreshOptions())

    found = entries(run)
    assert found["skill:pdf"].status == EntryStatus.REFRESHED
    assert (found["skill:public"].status, found["skill:public"].reason) == (
        EntryStatus.SKIPPED,
        "unsupported_source",
    )
    # The GitHub.com source was not sent to the Enterprise server under another name.
    assert all(r.path.startswith("/repos/acme/skills") for r in github.requests)
    assert sum(r.path == "/repos/acme/skills" for r in github.requests) == 1


def test_a_github_com_url_is_kept_and_skipped_when_written_for_an_enterprise_site(
    api, collection, settings
):
    settings.GITHUB_WEB_URL = "https://ghe.example.com"
    response = api.post(
        "/api/v1/artifacts/",
        {
            "collection": str(collection.id),
            "type": "skill",
            "name": "public",
            "source": "https://github.com/acme/skills",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "https://github.com/acme/skills"


@pytest.mark.parametrize(
    ("web_url", "source", "kind"),
    [
        ("https://github.com", "https://github.com/acme/skills", SourceKind.GITHUB),
        ("https://github.com", "https://www.github.com/acme/skills", SourceKind.GITHUB),
        ("https://github.com", "https://ghe.example.com/acme/skills", SourceKind.UNSUPPORTED),
        ("https://ghe.example.com", "https://GHE.example.com/acme/skills", SourceKind.GITHUB),
        ("https://ghe.example.com", "https://github.com/acme/skills", SourceKind.UNSUPPORTED),
        ("https://ghe.example.com", "https://evil.example.com/acme/skills", SourceKind.UNSUPPORTED),
        # Short specs belong to the configured GitHub, whichever it is.
        ("https://ghe.example.com", "acme/skills/skills/pdf", SourceKind.GITHUB),
    ],
)
def test_source_urls_are_github_sources_only_on_the_configured_web_host(
    settings, web_url, source, kind
):
    settings.GITHUB_WEB_URL = web_url
    assert parse_source(source).kind is kind


@pytest.mark.parametrize(
    ("api_url", "web_url"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://ghe.example.com:8443/api/v3/", "https://ghe.example.com:8443"),
        ("http://127.0.0.1:9999", "https://github.com"),
    ],
)
def test_the_web_host_defaults_to_the_enterprise_host_of_an_api_v3_url(api_url, web_url):
    assert default_github_web_url(api_url) == web_url


# -- names ----------------------------------------------------------------------------------


def test_owner_and_repository_names_are_one_repository_whatever_their_case(
    github, repo, collection
):
    ArtifactFactory(collection=collection, name="a", source="acme/skills/skills/pdf")
    ArtifactFactory(collection=collection, name="b", source="ACME/Skills/skills/pdf")
    ArtifactFactory(
        collection=collection,
        name="c",
        source="https://github.com/Acme/SKILLS/tree/main/skills/pdf",
    )

    run = refresh_now(collection, RefreshOptions())

    assert run.refreshed == 3
    paths = [r.path for r in github.requests]
    assert paths.count("/repos/acme/skills") == 1
    assert sum("/git/blobs/" in p for p in paths) == 1
    github.reset_log()

    # And one repository in the cache: the next run revalidates it once, whatever the case.
    run = refresh_now(collection, RefreshOptions())
    assert run.unchanged == 3
    assert sorted((r.path, r.status) for r in github.requests) == [
        ("/repos/acme/skills", 304),
        ("/repos/acme/skills/git/ref/heads/main", 304),
    ]


def test_a_renamed_repository_is_read_once_through_the_redirect_and_reported(
    github, repo, collection, api
):
    github.rename("acme/skills", "acme-labs/skill-pack")
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    ArtifactFactory(collection=collection, name="pdf2", source="acme/skills/skills/pdf")

    response = api.post(f"/api/v1/collections/{collection.id}/refresh")

    assert response.status_code == 200
    body = response.json()
    for entry in body["entries"]:
        assert entry["status"] == "refreshed"
        assert entry["reason"] == "repository_renamed"
        assert entry["details"] == {"renamed_to": "acme-labs/skill-pack"}
    # One redirect for the repository; the rest of the run used the new name.
    statuses = [(r.path, r.status) for r in github.requests]
    assert statuses[:2] == [("/repos/acme/skills", 301), (statuses[1][0], 200)]
    assert statuses[1][0].startswith("/repositories/")
    assert all(p.startswith("/repos/acme-labs/skill-pack/") for p, _ in statuses[2:])
    assert sum(s == 301 for _, s in statuses) == 1
    assert collection.artifacts.get(name="pdf").description == PDF_DESCRIPTION


def test_an_entry_of_a_repository_that_was_not_renamed_has_no_details(repo, collection, api):
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    (entry,) = api.post(f"/api/v1/collections/{collection.id}/refresh").json()["entries"]
    assert entry["details"] is None and entry["reason"] != "repository_renamed"


# -- sizes and trees ------------------------------------------------------------------------


def test_a_main_file_over_a_mib_is_file_too_large_without_downloading_it(github, collection):
    big = "---\ndescription: big\n---\n" + "x" * (1024 * 1024 + 10)
    github.add_repo("acme/big", files={"skills/big/SKILL.md": big, "skills/ok/SKILL.md": SKILL})
    ArtifactFactory(collection=collection, name="big", source="acme/big/skills/big")
    ArtifactFactory(collection=collection, name="ok", source="acme/big/skills/ok")

    run = refresh_now(collection, RefreshOptions())

    found = entries(run)
    assert found["skill:big"].error_code == "file_too_large"
    assert "at most 1048576" in found["skill:big"].error_message
    assert found["skill:ok"].status == EntryStatus.REFRESHED
    big_blob = github.tree_sha("acme/big", "skills/big/SKILL.md")
    assert not any(big_blob in r.path for r in github.requests)
    assert sum("/git/blobs/" in r.path for r in github.requests) == 1


def test_a_main_file_over_a_mib_in_a_truncated_tree_is_sized_from_its_listing(github, collection):
    big = "x" * (1024 * 1024 + 1)
    github.add_repo("acme/big", files={"skills/big/SKILL.md": big})
    github.truncate_trees("acme/big")
    ArtifactFactory(collection=collection, name="big", source="acme/big/skills/big")

    run = refresh_now(collection, RefreshOptions())

    assert entries(run)["skill:big"].error_code == "file_too_large"
    assert not any("/git/blobs/" in r.path for r in github.requests)


@pytest.mark.parametrize("failure", ["502", "timeout"])
def test_a_recursive_tree_that_fails_falls_back_to_the_artifacts_own_directories(
    github, repo, collection, settings, failure
):
    settings.REFRESH_MAX_RETRIES = 0
    settings.REFRESH_HTTP_TIMEOUT = 0.3
    if failure == "502":
        github.fail(r"/git/trees/", status=502)
    else:
        github.delay(r"/git/trees/", 2.0)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")

    run = refresh_now(collection, RefreshOptions())

    entry = entries(run)["skill:pdf"]
    assert entry.status == EntryStatus.REFRESHED, entry.error_message
    assert entry.upstream_content_sha == github.tree_sha("acme/skills", "skills/pdf")
    listings = [r for r in github.requests if "/contents/" in r.path]
    # The artifact's parent (for its own SHA) and the artifact's directory (for its main file).
    assert {r.path for r in listings} == {
        "/repos/acme/skills/contents/skills",
        "/repos/acme/skills/contents/skills/pdf",
    }
    assert all(r.status == 200 for r in listings)


def test_a_whole_repository_artifact_whose_tree_fails_is_upstream_unavailable(
    github, collection, settings
):
    settings.REFRESH_MAX_RETRIES = 0
    github.add_repo("acme/one", files={"SKILL.md": SKILL})
    github.fail(r"/git/trees/", status=502)
    ArtifactFactory(collection=collection, name="one", source="acme/one")

    with pytest.raises(Exception) as info:
        refresh_now(collection, RefreshOptions())

    assert getattr(info.value, "code", "") == "upstream_unavailable"
    (entry,) = collection.refresh_runs.get().entries.all()
    assert entry.error_code == "upstream_unavailable"


def test_a_repository_name_upstream_reports_is_not_trusted_into_request_paths(
    httpserver, settings, collection
):
    """A server answering with a hostile `full_name` must not steer later requests elsewhere."""
    settings.GITHUB_API_URL = httpserver.url_for("").rstrip("/")
    settings.GITHUB_TOKEN = "t"
    settings.REFRESH_MAX_RETRIES = 0
    settings.REFRESH_UPSTREAM = "rest"  # REST request paths are what a hostile name could steer
    httpserver.expect_request("/repos/acme/skills").respond_with_json(
        {"full_name": "../../admin", "default_branch": "main", "owner": {"login": "acme"}}
    )
    httpserver.expect_request("/repos/acme/skills/git/ref/heads/main").respond_with_json(
        {"object": {"sha": "a" * 40, "type": "commit"}}
    )
    httpserver.expect_request(f"/repos/acme/skills/git/trees/{'a' * 40}").respond_with_json(
        {"sha": "b" * 40, "tree": [], "truncated": False}
    )
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")

    run = refresh_now(collection, RefreshOptions())

    entry = entries(run)["skill:pdf"]
    assert entry.error_code == "upstream_not_found"
    assert entry.details is None
    assert all(req.path.startswith("/repos/acme/skills") for req, _ in httpserver.log)


def test_without_a_token_a_warm_refresh_still_pays_for_its_304s(github, repo, collection, settings):
    settings.GITHUB_TOKEN = ""
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    refresh_now(collection, RefreshOptions())
    left = github.anonymous_remaining
    github.reset_log()

    run = refresh_now(collection, RefreshOptions())

    assert run.unchanged == 1
    assert [r.status for r in github.requests] == [304, 304]
    # GitHub counts a 304 only when the request had no token: here both count.
    assert github.anonymous_remaining == left - 2
    assert run.rate_limit["limit"] == 60 and run.rate_limit["remaining"] == left - 2
