"""Private repositories through a refresh (SPEC 16), through both read plans.

Each repository is read as the account the collection's credentials pick; the site's own token
(an organisation-wide one in these tests: the fake's token reads everything) answers about
private repositories only for the collections SITE_TOKEN_PRIVATE_REPOS names; caches never hand
one collection's private objects to a run that has not proved its own access.
"""

import pytest

from collections_app.models import Collection, Credential
from refresher.exceptions import UpstreamUnavailable
from refresher.models import EntryStatus, GitHubQuota, HttpCacheEntry, RefreshRun
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from refresher.upstream.github.quota import TOKEN, account_key
from tests.conftest import READ_PLANS
from tests.credentials_support import make_credential
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import PDF_DESCRIPTION, fixture_text

pytestmark = pytest.mark.django_db

ALICE_TOKEN = "ghp_AliceReadsTheTeamRepos000000001"
BOB_TOKEN = "ghp_BobReadsOnlyPublicRepos00000002"
PRIVATE = "acme/private-kit"


@pytest.fixture(params=READ_PLANS)
def read_plan(request):
    return request.param


@pytest.fixture
def upstream(github):
    github.add_repo(
        PRIVATE, files={"skills/pdf/SKILL.md": fixture_text("skill-pdf.md")}, private=True
    )
    github.add_repo(
        "acme/open", files={"skills/notes/SKILL.md": "---\ndescription: Public notes\n---\n"}
    )
    github.add_token(ALICE_TOKEN, login="alice", private=[PRIVATE])
    github.add_token(BOB_TOKEN, login="bob")
    return github


def collection_of(owner, *credentials: Credential, name: str = "kit") -> Collection:
    collection = CollectionFactory(owner=owner, name=name)
    for position, credential in enumerate(credentials):
        collection.credentials.add(credential, through_defaults={"position": position})
    ArtifactFactory(
        collection=collection, name="pdf", source=f"{PRIVATE}/skills/pdf", description="ours"
    )
    ArtifactFactory(collection=collection, name="notes", source="acme/open/skills/notes")
    return collection


def entries(run):
    return {e.artifact_key: e for e in run.entries.all()}


def bearers(github) -> set[str]:
    return {r.headers.get("authorization", "") for r in github.requests}


class TestTheSiteToken:
    def test_reads_no_private_repository_for_a_user_who_is_not_staff(self, upstream, user):
        collection = collection_of(user)

        run = refresh_now(collection, RefreshOptions())

        pdf, notes = entries(run)["skill:pdf"], entries(run)["skill:notes"]
        assert (pdf.status, pdf.error_code) == (EntryStatus.ERROR, "credentials_required")
        assert "SITE_TOKEN_PRIVATE_REPOS" in pdf.error_message
        assert notes.status == EntryStatus.REFRESHED  # the rest of the run goes on
        assert collection.artifacts.get(name="pdf").description == "ours"
        # Nothing of the private repository was kept for anyone.
        assert not HttpCacheEntry.objects.filter(key__icontains="private-kit").exists()

    def test_reads_private_repositories_for_staff(self, upstream, staff_user):
        run = refresh_now(collection_of(staff_user), RefreshOptions())

        assert entries(run)["skill:pdf"].status == EntryStatus.REFRESHED

    @pytest.mark.parametrize(
        ("policy", "owner", "readable"),
        [("all", "user", True), ("none", "staff_user", False), ("staff", "staff_user", True)],
    )
    def test_site_token_private_repos_says_for_whom(
        self, upstream, settings, request, policy, owner, readable
    ):
        settings.SITE_TOKEN_PRIVATE_REPOS = policy
        run = refresh_now(collection_of(request.getfixturevalue(owner)), RefreshOptions())

        pdf = entries(run)["skill:pdf"]
        assert (pdf.status == EntryStatus.REFRESHED) is readable
        assert readable or pdf.error_code == "credentials_required"


class TestAUsersToken:
    def test_reads_the_private_repository_it_may_read(self, upstream, user, credential_keys):
        token = make_credential(user, secret=ALICE_TOKEN, name="alice's token")

        run = refresh_now(collection_of(user, token), RefreshOptions())

        assert entries(run)["skill:pdf"].status == EntryStatus.REFRESHED
        assert Collection.objects.get(owner=user).artifacts.get(name="pdf").description == (
            PDF_DESCRIPTION
        )
        # Every request of the run went out with the collection's token, none with the site's.
        assert bearers(upstream) == {f"Bearer {ALICE_TOKEN}"}
        token.refresh_from_db()
        assert token.last_used_at is not None

    def test_has_its_own_quota_row(self, upstream, user, credential_keys, settings):
        token = make_credential(user, secret=ALICE_TOKEN)

        refresh_now(collection_of(user, token), RefreshOptions())

        row = GitHubQuota.objects.get(account=account_key(settings.GITHUB_API_URL, ALICE_TOKEN))
        assert row.kind == TOKEN
        assert row.resources  # what GitHub said is left, for this token alone
        site = account_key(settings.GITHUB_API_URL, settings.GITHUB_TOKEN)
        assert not GitHubQuota.objects.filter(account=site).exists()

    @pytest.mark.allow_rest_fallback  # GraphQL's 401 is the point here
    def test_a_revoked_token_stops_its_reads_and_names_the_credential(
        self, upstream, user, credential_keys
    ):
        token = make_credential(user, secret=ALICE_TOKEN, name="alice's token")
        upstream.revoke_token(ALICE_TOKEN)

        with pytest.raises(UpstreamUnavailable) as refused:
            refresh_now(collection_of(user, token), RefreshOptions())

        # Nothing could be read at all: a 503, and the run on record says why for each entry.
        run = RefreshRun.objects.get(pk=refused.value.details["run_id"])
        assert ALICE_TOKEN not in refused.value.message
        for entry in entries(run).values():
            assert entry.error_code == "upstream_unauthorized"
            assert f'credential "alice\'s token" ({token.pk})' in entry.error_message
            assert ALICE_TOKEN not in entry.error_message
        # The site's token was not tried in its place.
        assert f"Bearer {upstream.token}" not in bearers(upstream)

    def test_a_token_stored_for_another_github_host_is_not_sent(
        self, upstream, user, credential_keys
    ):
        token = make_credential(user, secret=ALICE_TOKEN, name="enterprise token")
        Credential.objects.filter(pk=token.pk).update(host="ghe.example.com")

        with pytest.raises(UpstreamUnavailable) as refused:
            refresh_now(collection_of(user, token), RefreshOptions())

        run = RefreshRun.objects.get(pk=refused.value.details["run_id"])
        for entry in entries(run).values():
            assert entry.error_code == "upstream_unauthorized"
            assert "stored for ghe.example.com" in entry.error_message
        assert bearers(upstream) == set()  # nothing was sent, with it or instead of it


class TestNoConfusedDeputy:
    """A cache warmed by one user never hands their private objects to another's run."""

    def warm(self, upstream, user):
        token = make_credential(user, secret=ALICE_TOKEN)
        run = refresh_now(collection_of(user, token), RefreshOptions())
        assert entries(run)["skill:pdf"].status == EntryStatus.REFRESHED

    def test_with_no_credential_of_their_own(self, upstream, user, other_user, credential_keys):
        self.warm(upstream, user)
        upstream.reset_log()

        run = refresh_now(collection_of(other_user, name="borrowed"), RefreshOptions())

        pdf = entries(run)["skill:pdf"]
        assert (pdf.status, pdf.error_code) == (EntryStatus.ERROR, "credentials_required")
        assert (pdf.upstream_sha, pdf.changes) == ("", {})
        artifact = Collection.objects.get(name="borrowed").artifacts.get(name="pdf")
        assert (artifact.description, artifact.content, artifact.resolved_sha) == ("ours", "", "")

    @pytest.mark.parametrize("pinned", [False, True])
    def test_with_a_weaker_token(self, upstream, user, other_user, credential_keys, pinned):
        self.warm(upstream, user)
        weaker = make_credential(other_user, secret=BOB_TOKEN)
        collection = collection_of(other_user, weaker, name="borrowed")
        if pinned:
            # A pin names the commit the cache already holds: no ref to resolve first.
            head = upstream.head(PRIVATE)
            collection.artifacts.filter(name="pdf").update(source=f"{PRIVATE}/skills/pdf@{head}")
            artifact = collection.artifacts.get(name="pdf")
            artifact.save()

        run = refresh_now(collection, RefreshOptions(mode="sync"))

        pdf = entries(run)["skill:pdf"]
        assert (pdf.status, pdf.error_code) == (EntryStatus.ERROR, "upstream_not_found")
        artifact = collection.artifacts.get(name="pdf")
        assert (artifact.description, artifact.content, artifact.content_sha) == ("ours", "", "")
        assert bearers(upstream) - {""} == {f"Bearer {ALICE_TOKEN}", f"Bearer {BOB_TOKEN}"}


class TestWhatIsLeft:
    """A credential's quota shows on its detail and, by fingerprint only, on /healthz."""

    def test_a_tokens_quota_after_a_run(self, upstream, user, api, client, credential_keys):
        token = make_credential(user, secret=ALICE_TOKEN)
        refresh_now(collection_of(user, token), RefreshOptions())

        detail = api.get(f"/api/v1/credentials/{token.pk}/").json()
        health = client.get("/healthz").json()["github"]

        [quota] = detail["quota"]
        assert quota["account"] == "token"
        assert quota["paused_until"] is None
        resource = "graphql" if any(r.path == "/graphql" for r in upstream.requests) else "core"
        left = quota["resources"][resource]
        assert left["limit"] == 5000 and left["remaining"] < 5000
        [account] = health["accounts"]
        assert account["kind"] == "token" and account["resources"] == quota["resources"]
        assert ALICE_TOKEN not in str(health) and ALICE_TOKEN not in str(detail)
        # The list of credentials does not read quotas (one query for the page).
        assert "quota" not in api.get("/api/v1/credentials/").json()["results"][0]
