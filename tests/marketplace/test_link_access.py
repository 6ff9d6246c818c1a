"""Who may make and revoke share links, when a link stops answering, and the shape of a 500 on
a share link's path (SPEC 15)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.views import APIView

from collections_app.models import ShareLink
from tests.admin.conftest import grant
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.marketplace_kit import share_link_url

pytestmark = pytest.mark.django_db


def links_url(collection) -> str:
    return f"/api/v1/collections/{collection.pk}/share-links"


def test_staff_who_may_only_look_cannot_make_or_revoke_another_users_links(synced, staff_api):
    share_link_url(synced)
    link = ShareLink.objects.get()
    assert staff_api.get(links_url(synced)).json()["count"] == 1  # staff see the collection

    made = staff_api.post(links_url(synced), {"label": "mine now"}, format="json")
    revoked = staff_api.delete(f"{links_url(synced)}/{link.pk}")

    assert made.status_code == revoked.status_code == 403
    assert made.json()["code"] == revoked.json()["code"] == "permission_denied"
    assert list(ShareLink.objects.values_list("pk", flat=True)) == [link.pk]


def test_staff_allowed_to_change_collections_and_the_owner_may(synced, api):
    operator = UserFactory(username="operator", is_staff=True)
    grant(operator, "collections_app.change_collection")
    made = client_for(operator).post(links_url(synced), {"label": "ops"}, format="json")
    assert made.status_code == 201
    link = ShareLink.objects.get()
    assert api.delete(f"{links_url(synced)}/{link.pk}").status_code == 204
    assert api.post(links_url(synced), {}, format="json").status_code == 201


def test_a_link_stops_answering_while_its_owner_is_deactivated(synced, user):
    path = share_link_url(synced)
    assert APIClient().get(path).status_code == 200

    user.is_active = False
    user.save()
    gone = APIClient().get(path)
    assert gone.status_code == 404
    assert gone.json()["code"] == "not_found"

    user.is_active = True
    user.save()
    assert APIClient().get(path).status_code == 200


def test_a_500_on_a_share_links_path_is_in_the_error_shape(synced, monkeypatch):
    path = share_link_url(synced)

    def explode(self, request, *args, **kwargs):
        raise RuntimeError("broken before the view")

    # Outside the view's own exception handling: Django's handler500 answers.
    monkeypatch.setattr(APIView, "initialize_request", explode)
    client = Client(raise_request_exception=False)
    answer = client.get(path, HTTP_X_REQUEST_ID="five-hundred")
    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {
        "code": "internal_error",
        "message": "Internal server error.",
        "details": None,
        "request_id": "five-hundred",
    }
