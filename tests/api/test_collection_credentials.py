"""A collection's `credentials`: only its owner's, in order; never in exports (SPEC 16)."""

import pytest

from collections_app.models import Collection
from tests.conftest import client_for
from tests.credentials_support import make_credential
from tests.factories import ArtifactFactory, CollectionFactory

pytestmark = pytest.mark.django_db

COLLECTIONS = "/api/v1/collections/"


def test_a_collection_lists_its_owners_credentials_in_order(api, user, credential_keys):
    first, second = make_credential(user), make_credential(user)

    created = api.post(
        COLLECTIONS,
        {"name": "private", "credentials": [str(second.pk), str(first.pk)]},
        format="json",
    )

    assert created.status_code == 201, created.content
    assert created.json()["credentials"] == [str(second.pk), str(first.pk)]
    path = f"{COLLECTIONS}{created.json()['id']}/"
    assert api.get(path).json()["credentials"] == [str(second.pk), str(first.pk)]
    reordered = api.patch(path, {"credentials": [str(first.pk)]}, format="json")
    assert reordered.json()["credentials"] == [str(first.pk)]
    assert api.get(COLLECTIONS).json()["results"][0]["credentials"] == [str(first.pk)]
    untouched = api.patch(path, {"description": "d"}, format="json")
    assert untouched.json()["credentials"] == [str(first.pk)]


def test_another_users_credential_is_refused_naming_it(api, other_user, credential_keys):
    theirs = make_credential(other_user)

    response = api.post(
        COLLECTIONS, {"name": "borrowed", "credentials": [str(theirs.pk)]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert str(theirs.pk) in response.json()["details"]["credentials"][0]
    assert not Collection.objects.filter(name="borrowed").exists()


def test_an_edit_cannot_attach_another_users_credential_either(
    api, user, other_user, credential_keys
):
    collection = CollectionFactory(owner=user)
    mine, theirs = make_credential(user), make_credential(other_user)
    path = f"{COLLECTIONS}{collection.pk}/"
    api.patch(path, {"credentials": [str(mine.pk)]}, format="json")

    response = api.patch(path, {"credentials": [str(mine.pk), str(theirs.pk)]}, format="json")

    assert response.status_code == 400
    assert list(collection.credentials.all()) == [mine]


def test_staff_editing_a_users_collection_may_list_only_that_users_credentials(
    staff_api, staff_user, user, credential_keys
):
    collection = CollectionFactory(owner=user)
    owners, staffs = make_credential(user), make_credential(staff_user)
    path = f"{COLLECTIONS}{collection.pk}/"

    refused = staff_api.patch(path, {"credentials": [str(staffs.pk)]}, format="json")
    accepted = staff_api.patch(path, {"credentials": [str(owners.pk)]}, format="json")

    assert refused.status_code == 400
    assert accepted.status_code == 200
    assert list(collection.credentials.all()) == [owners]


def test_a_malformed_or_repeated_id(api, user, credential_keys):
    credential = make_credential(user)

    malformed = api.post(COLLECTIONS, {"name": "m", "credentials": ["nope"]}, format="json")
    repeated = api.post(
        COLLECTIONS,
        {"name": "r", "credentials": [str(credential.pk), str(credential.pk)]},
        format="json",
    )

    assert malformed.status_code == 400
    assert repeated.status_code == 201
    assert repeated.json()["credentials"] == [str(credential.pk)]


def test_export_names_no_credential_and_import_takes_none(api, user, credential_keys):
    credential = make_credential(user, name="team-token-name")
    collection = CollectionFactory(owner=user, name="exported")
    collection.credentials.add(credential, through_defaults={"position": 0})
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")

    exported = api.get(f"{COLLECTIONS}{collection.pk}/export")
    text = exported.content.decode()
    assert exported.status_code == 200
    assert "team-token-name" not in text
    assert str(credential.pk) not in text
    assert "credential" not in text.lower()

    # Into another user's account: a new collection, and no credential comes along.
    other = client_for(CollectionFactory().owner)
    imported = other.post(f"{COLLECTIONS}import", text.encode(), content_type="application/toml")
    assert imported.status_code == 201, imported.content
    new = Collection.objects.get(pk=imported.json()["collection_id"])
    assert list(new.credentials.all()) == []

    # Back into the same collection: what it reads with is its owner's business, left alone.
    again = api.post(f"{COLLECTIONS}import", text.encode(), content_type="application/toml")
    assert again.status_code == 200, again.content
    assert list(collection.credentials.all()) == [credential]
