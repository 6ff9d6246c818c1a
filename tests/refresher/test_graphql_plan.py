"""The GraphQL read plan (SPEC section 10): GitHub's schema, the fake's answers, batches, fallback,
and the same RefreshResponses as the REST plan."""

import json

import httpx
import pytest

from fakegithub.graphql_schema import validate_query
from refresher.exceptions import UpstreamUnavailable
from refresher.models import HttpCacheEntry, Mode, RefreshEntry
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from refresher.upstream.github.client import GitHubClient, default_graphql_url
from refresher.upstream.github.graphql_queries import (
    ListingAsk,
    RepoAsk,
    TextAsk,
    listings_query,
    repositories_query,
    texts_query,
)
from tests.factories import ArtifactFactory, CollectionFactory
from tests.graphql_strict import graphql_breaches
from tests.upstream import fixture_text

pytestmark = pytest.mark.django_db

SHA = "0123456789abcdef0123456789abcdef01234567"


# -- every query the client can build is valid against GitHub's published schema -----------------


QUERY_SHAPES = {
    "one repository, default branch only": repositories_query([RepoAsk("a/b", "a", "b")]),
    "repositories with branches and tags": repositories_query(
        [RepoAsk("a/b", "a", "b", ("develop", "v1.0")), RepoAsk("c/d", "c", "d", ("x",))]
    ),
    "listings, root and nested, two repositories": listings_query(
        [
            ListingAsk("a/b", "a", "b", SHA, ""),
            ListingAsk("a/b", "a", "b", SHA, "skills/pdf"),
            ListingAsk("c/d", "c", "d", SHA, "agents"),
        ]
    ),
    "texts with the subdirectories the review needs, two repositories": texts_query(
        [
            TextAsk("a/b", "a", "b", SHA),
            ListingAsk("a/b", "a", "b", SHA, "skills/pdf/scripts"),
            ListingAsk("c/d", "c", "d", SHA, "skills/docx/references"),
        ]
    ),
    "texts by oid, two repositories": texts_query(
        [TextAsk("a/b", "a", "b", SHA), TextAsk("c/d", "c", "d", SHA[::-1])]
    ),
}


@pytest.mark.parametrize("shape", sorted(QUERY_SHAPES))
def test_every_query_shape_validates_against_githubs_schema(shape):
    query, variables = QUERY_SHAPES[shape]
    assert validate_query(query) == []
    declared = {
        line.split(":")[0].strip("$ ") for line in query.split("(", 1)[1].split(")")[0].split(",")
    }
    assert declared == set(variables)


def test_a_query_github_would_refuse_is_refused_by_the_validation():
    errors = validate_query('query { repository(owner: "a", name: "b") { sizeInBytes } }')
    assert errors and "sizeInBytes" in errors[0].message


def test_graphql_url_is_derived_from_the_rest_base():
    assert default_graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    assert (
        default_graphql_url("https://ghe.example.com/api/v3/")
        == "https://ghe.example.com/api/graphql"
    )


# -- the fake answers like GitHub ----------------------------------------------------------------


def post(github, query, variables=None, token="test-token"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{github.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=10,
    )


def test_the_fake_answers_a_missing_repository_with_null_and_not_found(github):
    github.add_repo("acme/skills", files={"SKILL.md": "x"}, topics=["b", "a"])
    query, variables = repositories_query(
        [RepoAsk("acme/skills", "ACME", "Skills"), RepoAsk("acme/nope", "acme", "nope")]
    )
    answer = post(github, query, variables)
    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-resource"] == "graphql"
    body = answer.json()
    assert body["data"]["r0"]["nameWithOwner"] == "acme/skills"  # names are case-insensitive
    assert body["data"]["r0"]["licenseInfo"] == {"spdxId": "MIT"}
    assert body["data"]["r1"] is None
    [error] = body["errors"]
    assert error["type"] == "NOT_FOUND" and error["path"] == ["r1"]
    assert error["message"] == "Could not resolve to a Repository with the name 'acme/nope'."
    assert body["data"]["rateLimit"]["cost"] == 1


def test_the_fake_wants_a_token_and_reports_invalid_queries_in_githubs_shape(github):
    anonymous = post(github, "{ viewer { login } }", token="")
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "This endpoint requires you to be authenticated."
    assert post(github, "{ viewer { login } }", token="wrong").json()["message"] == (
        "Bad credentials"
    )
    invalid = post(github, '{ repository(owner: "a", name: "b") { nope } }').json()
    assert "data" not in invalid
    assert invalid["errors"][0]["extensions"]["code"] == "invalidQuery"
    assert invalid["errors"][0]["locations"]


def test_the_fake_charges_server_time_per_resolved_item(github):
    files = {f"s{i}/SKILL.md": f"skill {i}" for i in range(50)}
    head = github.add_repo("acme/many", files=files)
    github.graphql_cost_per_item = 0.01
    asks = [ListingAsk("acme/many", "acme", "many", head, f"s{i}") for i in range(50)]
    query, variables = listings_query(asks)
    answer = post(github, query, variables)
    # 1 repository + 50 objects at 10 ms each.
    assert answer.elapsed.total_seconds() >= 0.5
    assert len([k for k in answer.json()["data"]["r0"] if k.startswith("x")]) == 50


def test_the_client_posts_queries_and_keeps_the_graphql_snapshot(github):
    github.add_repo("acme/skills", files={"SKILL.md": "x"})
    query, variables = repositories_query([RepoAsk("acme/skills", "acme", "skills")])
    with GitHubClient(base_url=github.url, token=github.token) as client:
        response = client.graphql(query, variables)
        assert response.data["data"]["r0"]["defaultBranchRef"]["name"] == "main"
        assert client.rate_limit is not None and client.rate_limit.resource == "graphql"
        assert client.stats[("graphql", 200)] == 1


# -- the plan ------------------------------------------------------------------------------------


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user)


@pytest.mark.parametrize("read_plan", ["graphql"])
class TestGraphQLPlan:
    def test_a_node_limit_failure_halves_the_batch(self, github, collection):
        for i in range(4):
            github.add_repo(f"acme/r{i}", files={"SKILL.md": "---\ndescription: x\n---\n"})
            ArtifactFactory(collection=collection, name=f"s{i}", source=f"acme/r{i}")
        # Four repositories ask for 4 x 20 topics: over the limit; two (40 nodes) pass.
        github.graphql_node_limit = 50
        run = refresh_now(collection, RefreshOptions())
        assert run.status == "completed" and run.refreshed == 4
        assert all(r.path == "/graphql" for r in github.requests)
        assert len(github.requests) == 5  # 1 refused + 2 halves + listings + texts

    @pytest.mark.allow_rest_fallback  # GraphQL answers 502; REST reads
    def test_what_still_fails_is_read_through_rest(self, github, settings, collection):
        settings.REFRESH_MAX_RETRIES = 0
        github.add_repo("acme/skills", files={"skills/pdf/SKILL.md": fixture_text("skill-pdf.md")})
        ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
        github.fail(r"^/graphql$", status=502)
        run = refresh_now(collection, RefreshOptions())
        assert run.status == "completed" and run.refreshed == 1
        graphql = [r for r in github.requests if r.path == "/graphql"]
        assert len(graphql) == 1  # one ask cannot be halved
        assert github.count(kind="blob") == 1 and github.count(kind="repo") == 1

    @pytest.mark.allow_rest_fallback  # a 502 past GitHub's time budget, on purpose
    def test_a_query_past_githubs_time_budget_is_halved(self, github, settings, collection):
        settings.REFRESH_MAX_RETRIES = 0
        for i in range(4):
            github.add_repo(f"acme/r{i}", files={"SKILL.md": "---\ndescription: x\n---\n"})
            ArtifactFactory(collection=collection, name=f"s{i}", source=f"acme/r{i}")
        github.graphql_cost_per_item = 0.05
        github.graphql_timeout = 0.5  # 4 repositories x 3 items x 50 ms is over; 2 is not
        settings.REFRESH_HTTP_TIMEOUT = 10.0  # the fake's 502 comes after its 0.5 s budget
        run = refresh_now(collection, RefreshOptions())
        assert run.status == "completed" and run.refreshed == 4
        rounds = [
            (r.status, r.body.count(b"repository(owner:"))
            for r in github.requests
            if b"RepositoryFields" in r.body
        ]
        # The four repositories in one query (12 items x 50 ms) ran out of time; two halves did not.
        assert sorted(rounds) == [(200, 2), (200, 2), (502, 4)]
        assert not any(r.path != "/graphql" for r in github.requests)  # no REST needed

    def test_a_large_file_is_too_large_without_its_text_being_asked(self, github, collection):
        big = "---\ndescription: big\n---\n" + "x" * (1024 * 1024 + 10)
        github.add_repo("acme/big", files={"SKILL.md": big})
        ArtifactFactory(collection=collection, name="big", source="acme/big")
        entry = refresh_now(collection, RefreshOptions()).entries.get()
        assert entry.error_code == "file_too_large"
        assert not any("...Text" in q for q in github.graphql_queries())

    def test_binary_and_non_utf8_files_are_invalid_metadata(self, github, collection):
        github.add_repo("acme/bin", files={"SKILL.md": b"---\x00\x01binary"})
        github.add_repo(
            "acme/latin", files={"SKILL.md": "---\ndescription: caf\xe9\n---\n".encode("latin-1")}
        )
        ArtifactFactory(collection=collection, name="bin", source="acme/bin")
        ArtifactFactory(collection=collection, name="latin", source="acme/latin")
        run = refresh_now(collection, RefreshOptions())
        codes = dict(run.entries.values_list("artifact_key", "error_code"))
        assert codes == {"skill:bin": "invalid_metadata", "skill:latin": "invalid_metadata"}

    def test_listings_and_texts_are_cached_for_good(self, github, collection):
        github.add_repo("acme/skills", files={"skills/pdf/SKILL.md": fixture_text("skill-pdf.md")})
        ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
        refresh_now(collection, RefreshOptions())
        keys = dict(HttpCacheEntry.objects.values_list("key", "immutable"))
        head = github.head("acme/skills")
        blob = github.tree_sha("acme/skills", "skills/pdf/SKILL.md")
        assert keys == {f"graphql:listings:acme/skills:{head}": True, f"graphql:blob:{blob}": True}

    @pytest.mark.allow_rest_fallback  # no token: REST reads
    def test_without_a_token_the_rest_plan_reads(self, github, settings, collection):
        settings.GITHUB_TOKEN = ""
        github.add_repo("acme/skills", files={"skills/pdf/SKILL.md": fixture_text("skill-pdf.md")})
        ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
        run = refresh_now(collection, RefreshOptions())
        assert run.refreshed == 1
        assert not any(r.path == "/graphql" for r in github.requests)

    @pytest.mark.allow_rest_fallback  # GraphQL answers 429
    def test_a_secondary_limit_on_a_query_pauses_every_later_request(
        self, github, settings, collection
    ):
        settings.REFRESH_MAX_RETRIES = 0
        github.add_repo("acme/skills", files={"skills/pdf/SKILL.md": fixture_text("skill-pdf.md")})
        ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
        github.secondary_limit(r"^/graphql$", status=429, times=1)
        with pytest.raises(UpstreamUnavailable) as first:
            refresh_now(collection, RefreshOptions())
        assert first.value.retry_after is not None and first.value.retry_after >= 60
        assert RefreshEntry.objects.get().error_code == "rate_limited"
        assert len(github.requests) == 1
        # The pause is shared state: the next run sends nothing at all, through either API.
        with pytest.raises(UpstreamUnavailable):
            refresh_now(collection, RefreshOptions())
        assert len(github.requests) == 1

    @pytest.mark.allow_rest_fallback  # GraphQL answers 401
    def test_a_bad_token_stops_after_the_first_answer(self, github, settings, collection):
        settings.GITHUB_TOKEN = "revoked"
        for i in range(3):
            github.add_repo(f"acme/r{i}", files={"SKILL.md": "x"})
            ArtifactFactory(collection=collection, name=f"s{i}", source=f"acme/r{i}")
        with pytest.raises(UpstreamUnavailable):
            refresh_now(collection, RefreshOptions())
        assert len(github.requests) == 1 and github.requests[0].status == 401
        codes = set(RefreshEntry.objects.values_list("error_code", flat=True))
        assert codes == {"upstream_unauthorized"}


# -- the same answers both ways ------------------------------------------------------------------


def build_upstream(github):
    first = github.add_repo(
        "acme/skills",
        files={
            "skills/pdf/SKILL.md": fixture_text("skill-pdf.md"),
            "skills/pdf/scripts/extract.py": "print('text')\n",
            "skills/other/SKILL.md": fixture_text("skill-spdx.md"),
            "skills/plain/SKILL.md": fixture_text("skill-no-frontmatter.md"),
            "skills/broken/SKILL.md": fixture_text("skill-broken.md"),
            "skills/empty/notes.txt": "no main file here\n",
            "agents/reviewer.md": fixture_text("agent-reviewer.md"),
            "commands/deploy/README.md": fixture_text("command-deploy.md"),
            "mcp/server.json": fixture_text("mcp-server.json"),
            "big/SKILL.md": "---\ndescription: big\n---\n" + "x" * (1024 * 1024 + 10),
            "README.md": "# Skills\n",
        },
        topics=["pdf", "ai", "docs"],
        license_spdx="Apache-2.0",
    )
    github.tag("acme/skills", "v1", annotated=True)
    github.tag("acme/skills", "v0", sha=first)
    github.commit(
        "acme/skills",
        files={"skills/pdf/SKILL.md": "---\ndescription: dev\n---\n"},
        branch="develop",
    )
    github.add_repo(
        "octo/tools",
        files={"SKILL.md": "---\ndescription: tools\n---\nBody.\n"},
        license_spdx="NOASSERTION",
    )
    github.add_repo("octo/empty", files={})
    return first


SOURCES = {
    ("skill", "pdf"): "acme/skills/skills/pdf",
    ("skill", "pdf-case"): "https://github.com/ACME/Skills/tree/main/skills/pdf",
    ("skill", "other"): "acme/skills/skills/other",
    ("skill", "plain"): "acme/skills/skills/plain",
    ("skill", "broken"): "acme/skills/skills/broken",
    ("skill", "empty"): "acme/skills/skills/empty",
    ("skill", "missing-path"): "acme/skills/skills/nope",
    ("skill", "missing-repo"): "acme/nope/skills/pdf",
    ("skill", "missing-ref"): "acme/skills/skills/pdf@nope",
    ("skill", "branch"): "acme/skills/skills/pdf@develop",
    ("skill", "tag"): "acme/skills/skills/pdf@v0",
    ("skill", "annotated"): "acme/skills/skills/pdf@v1",
    ("skill", "big"): "acme/skills/big",
    ("skill", "tools"): "octo/tools",
    ("skill", "empty-repo"): "octo/empty",
    ("agent", "reviewer"): "acme/skills/agents/reviewer.md",
    ("command", "deploy"): "acme/skills/commands/deploy",
    ("mcp", "server"): "acme/skills/mcp/server.json",
    ("skill", "local"): "./skills/mine",
}
VOLATILE = {"run_id", "collection_id", "started_at", "finished_at", "duration_ms", "request_id"}


def make_collection(owner, name, first_commit):
    collection = CollectionFactory(owner=owner, name=name)
    for (kind, artifact), source in SOURCES.items():
        ArtifactFactory(collection=collection, type=kind, name=artifact, source=source)
    ArtifactFactory(
        collection=collection,
        name="pinned",
        source=f"acme/skills/skills/pdf@{first_commit}",
        description="kept when upstream is blank",
        locked_fields=["title"],
        title="My title",
    )
    ArtifactFactory(
        collection=collection,
        name="keep",
        source="acme/skills/skills/plain",
        description="local",
        author="someone",
        locked_fields=["author"],
    )
    return collection


def comparable(response):
    body = {k: v for k, v in response.json().items() if k not in VOLATILE}
    body["rate_limit"] = None  # each plan spends its own resource
    for entry in body["entries"]:
        entry.pop("artifact_id")
        entry.pop("duration_ms")
        if entry["error"]:
            # Messages name what each plan asked (a REST path, a GraphQL alias); codes match.
            entry["error"]["message"] = "(worded by each plan)"
    body["entries"].sort(key=lambda e: e["artifact"])
    return body


def test_both_plans_answer_every_scenario_identically(github, api, user, settings):
    first = build_upstream(github)
    collections = {
        plan: make_collection(user, f"via-{plan}", first) for plan in ("rest", "graphql")
    }

    def both(**body):
        answers = {}
        for plan, collection in collections.items():
            settings.REFRESH_UPSTREAM = plan
            github.reset_log()
            answer = api.post(f"/api/v1/collections/{collection.pk}/refresh", body, format="json")
            assert answer.status_code == 200, answer.json()
            if plan == "graphql":
                # Every read through GraphQL: a 502 or a REST fallback would hide a broken query.
                assert graphql_breaches(github) == []
                assert any(r.path == "/graphql" for r in github.requests)
            else:
                assert not any(r.path == "/graphql" for r in github.requests)
            answers[plan] = comparable(answer)
        assert json.dumps(answers["rest"], sort_keys=True, indent=1) == json.dumps(
            answers["graphql"], sort_keys=True, indent=1
        )
        return answers["rest"]

    # Cold, as a dry run, then for real (fields, never-erase, locked fields, errors, pins).
    dry = both(dry_run=True)
    assert {e["reason"] for e in dry["entries"]} >= {"dry_run", "no_upstream"}
    codes = {e["artifact"]: (e["error"] or {}).get("code") for e in both()["entries"]}
    assert codes["skill:missing-repo"] == "upstream_not_found"
    assert codes["skill:big"] == "file_too_large"
    assert codes["skill:broken"] == "invalid_metadata"
    # Sync records content and SHAs; pinned artifacts keep their pin.
    both(mode=Mode.SYNC)
    # Upstream moves: a commit under one path, one elsewhere, new topics, a new license.
    github.commit("acme/skills", files={"skills/other/SKILL.md": "---\ndescription: new\n---\n"})
    github.commit("acme/skills", files={"README.md": "# Skills, again\n"})
    github.set_repo("octo/tools", topics=["new"], license_spdx="MIT")
    updates = both(mode=Mode.CHECK_ONLY)
    flags = {e["artifact"]: e["update_available"] for e in updates["entries"]}
    assert flags["skill:other"] is True and flags["skill:pdf"] is False
    both(mode=Mode.SYNC, fields=["description", "topics"])
    # Warm: nothing changed since.
    both()
