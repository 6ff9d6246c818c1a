import uuid

import pytest

from collections_app.models import Collection
from tests.factories import ArtifactFactory, CollectionFactory

pytestmark = pytest.mark.django_db


def test_create_list_retrieve_update_delete_a_collection(api, user):
    created = api.post(
        "/api/v1/collections/", {"name": "Daily", "description": "mine"}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["owner"] == user.username
    assert body["artifact_count"] == 0
    cid = body["id"]

    listed = api.get("/api/v1/collections/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == cid
    assert set(listed) == {"count", "next", "previous", "results"}

    assert api.get(f"/api/v1/collections/{cid}/").json()["name"] == "Daily"
    patched = api.patch(f"/api/v1/collections/{cid}", {"description": "edited"}, format="json")
    assert patched.status_code == 200 and patched.json()["description"] == "edited"
    put = api.put(f"/api/v1/collections/{cid}/", {"name": "Weekly"}, format="json")
    assert put.status_code == 200 and put.json()["name"] == "Weekly"

    assert api.delete(f"/api/v1/collections/{cid}").status_code == 204
    assert not Collection.objects.filter(pk=cid).exists()


def test_collection_names_are_unique_per_owner_but_not_across_owners(api, other_api):
    assert api.post("/api/v1/collections/", {"name": "Shared"}, format="json").status_code == 201
    again = api.post("/api/v1/collections/", {"name": "Shared"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_exists"
    assert "name" in again.json()["details"]
    assert (
        other_api.post("/api/v1/collections/", {"name": "Shared"}, format="json").status_code == 201
    )


def test_artifact_count_is_reported(api, user):
    collection = CollectionFactory(owner=user)
    ArtifactFactory.create_batch(3, collection=collection)
    assert api.get(f"/api/v1/collections/{collection.id}/").json()["artifact_count"] == 3


@pytest.mark.parametrize("path", ["/api/v1/collections/", "/api/v1/collections"])
def test_both_slash_forms_answer_without_a_redirect(api, path):
    assert api.get(path).status_code == 200


def test_pagination_follows_page_size(api, user):
    for i in range(7):
        CollectionFactory(owner=user, name=f"c{i}")
    page = api.get("/api/v1/collections/?page_size=5").json()
    assert page["count"] == 7 and len(page["results"]) == 5 and page["next"]
    assert len(api.get(page["next"]).json()["results"]) == 2


class TestPermissionMatrix:
    """Owner: full access. Another user: 404 (not disclosed). Staff: all. Anonymous: 401."""

    @pytest.fixture
    def collection(self, user):
        return CollectionFactory(owner=user)

    def test_owner_can_read_and_edit(self, api, collection):
        assert api.get(f"/api/v1/collections/{collection.id}/").status_code == 200
        r = api.patch(f"/api/v1/collections/{collection.id}/", {"description": "x"}, format="json")
        assert r.status_code == 200

    def test_another_user_gets_404_for_every_method(self, other_api, collection):
        url = f"/api/v1/collections/{collection.id}/"
        for response in (
            other_api.get(url),
            other_api.patch(url, {"description": "x"}, format="json"),
            other_api.put(url, {"name": "x"}, format="json"),
            other_api.delete(url),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"
        assert other_api.get("/api/v1/collections/").json()["count"] == 0
        assert Collection.objects.filter(pk=collection.pk, description="Skills we use").exists()

    def test_staff_see_and_edit_everything(self, staff_api, collection):
        assert staff_api.get("/api/v1/collections/").json()["count"] == 1
        r = staff_api.patch(
            f"/api/v1/collections/{collection.id}/", {"description": "s"}, format="json"
        )
        assert r.status_code == 200

    def test_anonymous_gets_401_in_the_error_shape(self, anon_api, collection):
        for response in (
            anon_api.get("/api/v1/collections/"),
            anon_api.get(f"/api/v1/collections/{collection.id}/"),
            anon_api.post("/api/v1/collections/", {"name": "x"}, format="json"),
        ):
            assert response.status_code == 401
            assert response.json()["code"] == "not_authenticated"
            assert response["WWW-Authenticate"] == "Token"

    def test_a_bad_token_is_401(self, anon_api):
        anon_api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
        response = anon_api.get("/api/v1/collections/")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_session_auth_works_for_the_browsable_api(client, user):
    client.force_login(user)
    response = client.get("/api/v1/collections/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Collection List" in response.content


def test_unknown_collection_id_is_404(api):
    assert api.get(f"/api/v1/collections/{uuid.uuid4()}/").status_code == 404
