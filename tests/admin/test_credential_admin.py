"""The credential admin: staff manage everyone's credentials and never see a secret."""

import pytest
from django.test import Client

from collections_app.models import CollectionCredential, Credential
from refresher.credentials.kinds import open_secret
from tests.admin.conftest import grant
from tests.credentials_support import make_credential
from tests.factories import CollectionFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "ghp_AdminPageMustNeverShowThis000wxyz"
ADD = "/admin/collections_app/credential/add/"


@pytest.fixture
def keeper(db) -> Client:
    """A staff member allowed to manage credentials and collections, not a superuser."""
    user = UserFactory(username="keeper", is_staff=True)
    grant(
        user,
        *(
            f"collections_app.{verb}_{model}"
            for verb in ("view", "add", "change", "delete")
            for model in ("credential", "collection", "collectioncredential")
        ),
    )
    client = Client()
    client.force_login(user)
    return client


def test_the_pages_show_the_fingerprint_never_the_secret(keeper, user, credential_keys):
    credential = make_credential(user, secret=TOKEN, name="deploy")

    pages = [
        keeper.get("/admin/collections_app/credential/"),
        keeper.get(f"/admin/collections_app/credential/{credential.pk}/change/"),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert "deploy" in html and "…wxyz" in html
        assert TOKEN not in html
        assert credential.secret_encrypted not in html


def test_staff_store_a_token_for_a_user(keeper, user, credential_keys):
    response = keeper.post(
        ADD, {"owner": user.pk, "name": "ci", "kind": "github_token", "new_secret": TOKEN}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    credential = Credential.objects.get(name="ci")
    assert credential.owner == user and credential.host == "github.com"
    assert open_secret(credential).reveal() == TOKEN


def test_a_page_coming_back_with_an_error_does_not_echo_the_secret(
    keeper, user, credential_keys, app_private_key
):
    token_page = keeper.post(
        ADD,
        {
            "owner": user.pk,
            "name": "ci",
            "kind": "github_token",
            "new_secret": TOKEN,
            "username": "not-for-tokens",
        },
    )
    key_page = keeper.post(
        ADD,
        {
            "owner": user.pk,
            "name": "bot",
            "kind": "github_app",
            "new_private_key": app_private_key,
        },  # no app id: an error
    )

    assert token_page.status_code == key_page.status_code == 200
    assert "Not used by a github_token credential" in token_page.content.decode()
    assert TOKEN not in token_page.content.decode()
    assert "needs it" in key_page.content.decode()
    assert "PRIVATE KEY" not in key_page.content.decode()
    assert not Credential.objects.exists()


def test_a_blank_secret_keeps_the_stored_one(keeper, user, credential_keys):
    credential = make_credential(user, secret=TOKEN, name="ci")

    response = keeper.post(
        f"/admin/collections_app/credential/{credential.pk}/change/",
        {"name": "renamed", "new_secret": ""},
    )

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.name == "renamed"
    assert open_secret(credential).reveal() == TOKEN


def test_without_keys_the_admin_says_what_to_set(keeper, user, settings):
    settings.CREDENTIAL_KEYS = []

    response = keeper.post(
        ADD, {"owner": user.pk, "name": "ci", "kind": "github_token", "new_secret": TOKEN}
    )

    assert response.status_code == 200
    assert "CREDENTIAL_KEYS" in response.content.decode()
    assert not Credential.objects.exists()


def test_a_collection_lists_only_its_owners_credentials(keeper, user, other_user, credential_keys):
    collection = CollectionFactory(owner=user, name="team")
    mine = make_credential(user, name="mine-token")
    theirs = make_credential(other_user, name="their-token")
    change = f"/admin/collections_app/collection/{collection.pk}/change/"

    page = keeper.get(change).content.decode()

    assert "mine-token" in page
    assert "their-token" not in page
    form = {
        "owner": user.pk,
        "name": "team",
        "description": "",
        "auto_refresh_mode": "check_only",
        "refresh_schedule": "",
        "notify_url": "",
        "notify_secret": "",
        "credential_links-TOTAL_FORMS": "1",
        "credential_links-INITIAL_FORMS": "0",
        "credential_links-0-position": "0",
        "credential_links-0-credential": str(theirs.pk),
        "artifacts-TOTAL_FORMS": "0",
        "artifacts-INITIAL_FORMS": "0",
    }
    refused = keeper.post(change, form)
    assert refused.status_code == 200
    assert not CollectionCredential.objects.exists()

    accepted = keeper.post(change, {**form, "credential_links-0-credential": str(mine.pk)})
    assert accepted.status_code == 302
    assert list(collection.credentials.all()) == [mine]
