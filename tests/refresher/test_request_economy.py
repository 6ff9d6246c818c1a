"""What a refresh costs upstream, request by request (the read plan of SPEC section 4).

Cold: per repository its metadata, its default branch's ref and that commit's recursive tree; per
artifact the blob of its main file. Warm with nothing changed: per repository two conditional
requests, both answered 304 (free of primary quota), and nothing else: trees and blobs are
addressed by SHA and come from the cache. After a commit, only what the commit changed is read.
"""

from collections import Counter

import pytest

from refresher.models import Mode
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from refresher.upstream.github.client import endpoint_kind
from tests.factories import ArtifactFactory, CollectionFactory

pytestmark = pytest.mark.django_db

REPOS = {
    "acme/skills": ["pdf", "docx", "xlsx"],
    "octo/toolbox": ["lint", "review", "release"],
}


def skill_md(name: str, revision: int = 0) -> str:
    return (
        f"---\nname: {name}\ndescription: The {name} skill, revision {revision}.\n"
        f"license: MIT\n---\n\n# {name}\n\nWhat the {name} skill does, step by step.\n"
    )


@pytest.fixture
def collection(github, user):
    for repo, names in REPOS.items():
        files = {f"skills/{n}/SKILL.md": skill_md(n) for n in names}
        files["skills/pdf/scripts/extract.py"] = "print('extract')\n"
        files["README.md"] = f"# {repo}\n"
        github.add_repo(repo, files=files, topics=["claude", "skills"])
    collection = CollectionFactory(owner=user)
    for repo, names in REPOS.items():
        for n in names:
            ArtifactFactory(collection=collection, name=n, source=f"{repo}/skills/{n}")
    return collection


def refresh(collection):
    return refresh_now(collection, RefreshOptions())


def traffic(github) -> Counter[tuple[str, int]]:
    return Counter((endpoint_kind(r.path), r.status) for r in github.requests)


def paths(github) -> Counter[str]:
    return Counter(r.path for r in github.requests)


def expected_cold_paths(github, repos=REPOS) -> Counter[str]:
    expected: Counter[str] = Counter()
    for repo, names in repos.items():
        head = github.head(repo)
        expected[f"/repos/{repo}"] += 1
        expected[f"/repos/{repo}/git/ref/heads/main"] += 1
        expected[f"/repos/{repo}/git/trees/{head}"] += 1
        for n in names:
            blob = github.tree_sha(repo, f"skills/{n}/SKILL.md")
            expected[f"/repos/{repo}/git/blobs/{blob}"] += 1
    return expected


def test_cold_refresh_reads_each_repository_once_and_each_artifact_one_blob(github, collection):
    github.reset_log()

    run = refresh(collection)

    assert run.status == "completed"
    assert run.refreshed == 6
    assert traffic(github) == {
        ("repo", 200): 2,
        ("ref", 200): 2,
        ("tree", 200): 2,
        ("blob", 200): 6,
    }
    assert paths(github) == expected_cold_paths(github)
    trees = [r for r in github.requests if endpoint_kind(r.path) == "tree"]
    assert all(r.query == {"recursive": "1"} for r in trees)
    # Nothing was cached yet, so nothing was asked conditionally.
    assert not any("if-none-match" in r.headers for r in github.requests)
    assert all(r.authorized for r in github.requests)


def test_warm_refresh_costs_two_free_requests_per_repository(github, collection):
    refresh(collection)
    github.reset_log()
    remaining = github.rate_limit_remaining

    run = refresh(collection)

    assert run.status == "completed"
    assert run.unchanged == 6
    assert traffic(github) == {("repo", 304): 2, ("ref", 304): 2}
    assert paths(github) == {
        f"/repos/{repo}{tail}": 1 for repo in REPOS for tail in ("", "/git/ref/heads/main")
    }
    for record in github.requests:
        assert record.headers.get("if-none-match", "").startswith('"'), record.path
        assert record.authorized, record.path
    # A 304 costs no primary quota.
    assert github.rate_limit_remaining == remaining


def test_after_a_commit_only_the_changed_blobs_are_read(github, collection):
    refresh(collection)
    github.commit("acme/skills", files={"skills/docx/SKILL.md": skill_md("docx", revision=1)})
    github.reset_log()

    run = refresh(collection)

    assert run.refreshed == 1
    assert run.unchanged == 5
    docx_blob = github.tree_sha("acme/skills", "skills/docx/SKILL.md")
    assert traffic(github) == {
        # acme/skills moved: its metadata (pushed_at), ref and tree are new answers.
        ("repo", 200): 1,
        ("ref", 200): 1,
        ("tree", 200): 1,
        ("blob", 200): 1,
        # octo/toolbox did not.
        ("repo", 304): 1,
        ("ref", 304): 1,
    }
    assert paths(github)[f"/repos/acme/skills/git/blobs/{docx_blob}"] == 1
    conditional = [r for r in github.requests if endpoint_kind(r.path) in ("repo", "ref")]
    assert all("if-none-match" in r.headers and r.authorized for r in conditional)
    assert all(r.authorized for r in github.requests)


def test_a_commit_elsewhere_in_the_repository_reads_its_tree_and_no_blob(github, collection):
    refresh(collection)
    github.commit("octo/toolbox", files={"README.md": "# octo/toolbox\n\nNow with a README.\n"})
    github.reset_log()

    run = refresh(collection)

    assert run.unchanged == 6
    assert traffic(github) == {
        ("repo", 200): 1,
        ("ref", 200): 1,
        ("tree", 200): 1,
        ("repo", 304): 1,
        ("ref", 304): 1,
    }


# -- the GraphQL plan (SPEC section 10) ----------------------------------------------------------


def graphql_rounds(github) -> list[str]:
    """Which round each GraphQL query of the log was: repositories, listings or texts."""
    rounds = []
    for query in github.graphql_queries():
        if "...RepositoryFields" in query:
            rounds.append("repositories")
        elif "...Text" in query:
            rounds.append("texts")  # with the subdirectories a review will need
        elif "...Listing" in query:
            rounds.append("listings")
        else:
            rounds.append("other")
    return rounds


@pytest.mark.parametrize("read_plan", ["graphql"])
class TestGraphQLPlan:
    """With a token the same refreshes cost one query per round, and nothing through REST."""

    def test_cold_refresh_is_three_queries(self, github, collection):
        github.reset_log()
        points = github.graphql_remaining

        run = refresh(collection)

        assert run.status == "completed" and run.refreshed == 6
        assert [(r.method, r.path, r.status) for r in github.requests] == [
            ("POST", "/graphql", 200)
        ] * 3
        assert graphql_rounds(github) == ["repositories", "listings", "texts"]
        assert all(r.authorized for r in github.requests)
        # Each query costs one point (no connection asks for more than 100 nodes).
        assert points - github.graphql_remaining == 3
        assert github.rate_limit_remaining == github.rate_limit  # no REST quota spent

    def test_a_first_sync_reviews_files_in_subdirectories_without_another_query(
        self, github, collection
    ):
        github.reset_log()

        run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))

        assert run.status == "completed" and run.refreshed == 6
        # skills/pdf/scripts was listed with the texts: the review of its files asked nothing.
        assert graphql_rounds(github) == ["repositories", "listings", "texts"]
        entry = run.entries.get(artifact__name="pdf")
        findings = [(f["code"], f["path"]) for f in entry.details["findings"]]
        assert ("script_changed", "skills/pdf/scripts/extract.py") in findings

    def test_warm_refresh_is_one_query_for_the_heads(self, github, collection):
        refresh(collection)
        github.reset_log()

        run = refresh(collection)

        assert run.unchanged == 6
        assert graphql_rounds(github) == ["repositories"]
        assert len(github.requests) == 1
        # Nothing under a commit is asked again: the heads did not move.
        assert "object(" not in github.graphql_queries()[0]

    def test_after_a_commit_only_that_repository_and_the_changed_text_are_read(
        self, github, collection
    ):
        refresh(collection)
        github.commit("acme/skills", files={"skills/docx/SKILL.md": skill_md("docx", revision=1)})
        github.reset_log()

        run = refresh(collection)

        assert run.refreshed == 1 and run.unchanged == 5
        assert graphql_rounds(github) == ["repositories", "listings", "texts"]
        listings, texts = github.graphql_queries()[1:]
        # The moved repository's three directories at its new head; octo/toolbox not at all.
        assert listings.count("object(expression:") == 3
        assert texts.count("object(oid:") == 1
        blob = github.tree_sha("acme/skills", "skills/docx/SKILL.md")
        body = [r.body for r in github.requests][2].decode()
        assert blob in body and "octo" not in body

    def test_a_commit_elsewhere_reads_the_listings_and_no_text(self, github, collection):
        refresh(collection)
        github.commit("octo/toolbox", files={"README.md": "# octo/toolbox\n\nNow with more.\n"})
        github.reset_log()

        run = refresh(collection)

        assert run.unchanged == 6
        assert graphql_rounds(github) == ["repositories", "listings"]
