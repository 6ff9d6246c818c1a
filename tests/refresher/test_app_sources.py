"""GitHub Apps and several accounts in one run (SPEC 16), through both read plans.

An App of the collection installed on a repository's owner reads it with installation tokens it
mints and keeps; each account has its own quota and its own refusal, so one refused or spent
account stops only its own repositories.
"""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from django.utils import timezone

from collections_app.models import Collection, Credential
from refresher.models import EntryStatus, GitHubAppInstallation, GitHubQuota
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from refresher.upstream.github.quota import INSTALLATION, account_key, installation_account
from tests.conftest import READ_PLANS
from tests.credentials_support import make_credential, new_app_key
from tests.factories import ArtifactFactory, CollectionFactory

pytestmark = pytest.mark.django_db

APP_ID = 8080
TOKEN = "ghp_AliceReadsTheTeamRepos000000001"
SKILL = "---\ndescription: {}\n---\nBody.\n"


@pytest.fixture(params=READ_PLANS)
def read_plan(request):
    return request.param


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def upstream(github, app_private_key):
    for name in ("acme/private-kit", "beta/private-kit"):
        files = {"skills/pdf/SKILL.md": SKILL.format(f"From {name}")}
        github.add_repo(name, files=files, private=True)
    github.add_token(TOKEN, login="alice", private=["acme/private-kit"])
    github.add_app(APP_ID, public_pem(app_private_key), slug="kit-reader")
    github.installation = github.install_app(APP_ID, "beta")
    return github


@pytest.fixture
def app(user, app_private_key, credential_keys) -> Credential:
    return make_credential(
        user, kind="github_app", app_id=APP_ID, secret=app_private_key, name="kit reader"
    )


def collection_of(owner, *credentials: Credential) -> Collection:
    collection = CollectionFactory(owner=owner)
    for position, credential in enumerate(credentials):
        collection.credentials.add(credential, through_defaults={"position": position})
    for owner_name in ("acme", "beta"):
        ArtifactFactory(
            collection=collection,
            name=f"{owner_name}-pdf",
            source=f"{owner_name}/private-kit/skills/pdf",
        )
    return collection


def outcome(run) -> dict[str, tuple[str, str]]:
    return {e.artifact_key: (e.status, e.error_code) for e in run.entries.all()}


def test_each_repository_is_read_as_the_account_that_covers_its_owner(
    upstream, user, app, credential_keys
):
    token = make_credential(user, secret=TOKEN)

    run = refresh_now(collection_of(user, token, app), RefreshOptions())

    assert outcome(run) == {
        "skill:acme-pdf": (EntryStatus.REFRESHED, ""),  # the token: no App on acme
        "skill:beta-pdf": (EntryStatus.REFRESHED, ""),  # the App installed on beta
    }
    assert upstream.minted_tokens() == [upstream.installation]
    row = GitHubAppInstallation.objects.get(credential=app)
    assert (row.installation_id, row.account) == (upstream.installation, "beta")
    assert row.token_encrypted and "ghs_" not in row.token_encrypted


def test_a_kept_installation_token_serves_the_next_runs(upstream, user, app):
    collection = collection_of(user, app)
    collection.artifacts.filter(name="acme-pdf").delete()

    refresh_now(collection, RefreshOptions())
    refresh_now(collection, RefreshOptions())

    # One token for both runs, and the installation was looked up once.
    assert upstream.minted_tokens() == [upstream.installation]
    lookups = [r for r in upstream.requests if r.path.endswith("/installation")]
    assert len(lookups) == 1


def test_an_installation_has_its_own_quota_row(upstream, user, app, settings):
    collection = collection_of(user, app)
    collection.artifacts.filter(name="acme-pdf").delete()

    refresh_now(collection, RefreshOptions())

    account = installation_account(settings.GITHUB_API_URL, upstream.installation)
    assert GitHubQuota.objects.get(account=account).kind == INSTALLATION


@pytest.mark.allow_rest_fallback  # the one 401 GraphQL answers is the point here
def test_a_token_revoked_before_its_time_is_minted_again_once(upstream, user, app):
    collection = collection_of(user, app)
    collection.artifacts.filter(name="acme-pdf").delete()
    refresh_now(collection, RefreshOptions())
    upstream.revoke_installation_tokens(upstream.installation)

    run = refresh_now(collection, RefreshOptions())

    assert outcome(run) == {"skill:beta-pdf": (EntryStatus.UNCHANGED, "")}
    assert upstream.minted_tokens() == [upstream.installation] * 2


@pytest.mark.allow_rest_fallback
def test_an_app_github_refuses_stops_what_reaches_it_and_nothing_else(
    upstream, user, credential_keys, app
):
    """The refused App comes first: no repository it might cover is read by the token behind
    it; the App before it still reads its own owner's repositories."""
    stranger = make_credential(
        user, kind="github_app", app_id=APP_ID, secret=new_app_key(), name="wrong key"
    )
    token = make_credential(user, secret=TOKEN)

    run = refresh_now(collection_of(user, app, stranger, token), RefreshOptions())

    entries = {e.artifact_key: e for e in run.entries.all()}
    assert entries["skill:beta-pdf"].status == EntryStatus.REFRESHED
    acme = entries["skill:acme-pdf"]
    assert acme.error_code == "upstream_unauthorized"
    assert f"credential 'wrong key' ({stranger.pk})" in acme.error_message
    assert "JSON web token could not be decoded" in acme.error_message
    assert f"Bearer {TOKEN}" not in {r.headers.get("authorization") for r in upstream.requests}


def test_a_spent_account_stops_its_own_reads_and_no_other(upstream, user, app, settings):
    token = make_credential(user, secret=TOKEN)
    paused = timezone.now() + timedelta(minutes=30)
    GitHubQuota.objects.create(
        account=account_key(settings.GITHUB_API_URL, TOKEN), kind="token", paused_until=paused
    )
    # The site's own token is paused too: a run with credentials of its own is not refused.
    GitHubQuota.objects.create(
        account=account_key(settings.GITHUB_API_URL, settings.GITHUB_TOKEN), paused_until=paused
    )

    run = refresh_now(collection_of(user, token, app), RefreshOptions())

    entries = {e.artifact_key: e for e in run.entries.all()}
    assert (entries["skill:acme-pdf"].status, entries["skill:acme-pdf"].reason) == (
        EntryStatus.SKIPPED,
        "rate_limited",
    )
    assert entries["skill:beta-pdf"].status == EntryStatus.REFRESHED


def test_the_sites_paused_quota_stops_only_what_the_site_would_read(
    upstream, staff_user, credential_keys, app_private_key, settings
):
    staff_app = make_credential(
        staff_user, kind="github_app", app_id=APP_ID, secret=app_private_key
    )
    paused = timezone.now() + timedelta(minutes=30)
    GitHubQuota.objects.create(
        account=account_key(settings.GITHUB_API_URL, settings.GITHUB_TOKEN), paused_until=paused
    )

    # acme has no App installed and the collection no token: the site's token would read it.
    run = refresh_now(collection_of(staff_user, staff_app), RefreshOptions())

    entries = {e.artifact_key: e for e in run.entries.all()}
    assert entries["skill:acme-pdf"].reason == "rate_limited"
    assert entries["skill:beta-pdf"].status == EntryStatus.REFRESHED
    assert f"Bearer {upstream.token}" not in {
        r.headers.get("authorization") for r in upstream.requests
    }


def test_a_secret_no_key_opens_fails_as_refused(upstream, user, app, settings):
    from cryptography.fernet import Fernet

    token = make_credential(user, secret=TOKEN, name="lost key")
    Credential.objects.filter(pk=token.pk).update(
        secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"ghp_other").decode()
    )

    run = refresh_now(collection_of(user, app, token), RefreshOptions())

    acme = next(e for e in run.entries.all() if e.artifact_key == "skill:acme-pdf")
    assert acme.error_code == "upstream_unauthorized"
    assert "cannot be decrypted" in acme.error_message
    assert "ghp_other" not in acme.error_message


def test_an_apps_detail_shows_each_installations_quota(upstream, user, app, api):
    collection = collection_of(user, app)
    collection.artifacts.filter(name="acme-pdf").delete()
    refresh_now(collection, RefreshOptions())

    [quota] = api.get(f"/api/v1/credentials/{app.pk}/").json()["quota"]

    assert quota["account"] == f"installation {upstream.installation} (beta)"
    assert all(r["limit"] == 5000 for r in quota["resources"].values())
