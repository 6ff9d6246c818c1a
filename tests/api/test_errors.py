"""Every error of the API has one shape, and every response carries X-Request-ID."""

import pytest

from tests.factories import CollectionFactory

pytestmark = pytest.mark.django_db
ERROR_KEYS = {"code", "message", "details", "request_id"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code
    assert body["message"]
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_400_names_the_fields(api):
    body = assert_error(api.post("/api/v1/collections/", {}, format="json"), 400, "invalid_request")
    assert body["details"] == {"name": ["This field is required."]}


def test_400_for_malformed_json(api):
    response = api.generic(
        "POST", "/api/v1/collections/", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "invalid_request")


def test_401(anon_api):
    assert_error(anon_api.get("/api/v1/artifacts/"), 401, "not_authenticated")


def test_404_for_unknown_route_and_malformed_ids(api):
    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")
    assert_error(api.get("/api/v1/collections/not-a-uuid/"), 404, "not_found")
    assert_error(api.get("/api/v1/artifacts/12345"), 404, "not_found")


def test_405(api, user):
    collection = CollectionFactory(owner=user)
    body = assert_error(api.delete("/api/v1/collections/"), 405, "method_not_allowed")
    assert "DELETE" in body["message"]
    assert_error(api.post(f"/api/v1/collections/{collection.id}/"), 405, "method_not_allowed")


def test_request_id_is_echoed_when_sent_and_made_up_otherwise(api):
    sent = api.get("/api/v1/collections/", HTTP_X_REQUEST_ID="trace-abc-123")
    assert sent["X-Request-ID"] == "trace-abc-123"
    made = api.get("/api/v1/collections/")
    assert len(made["X-Request-ID"]) == 32
    error = api.get("/api/v1/collections/nope", HTTP_X_REQUEST_ID="trace-err-9")
    assert error.json()["request_id"] == "trace-err-9"


def test_an_unsafe_request_id_is_replaced(api):
    response = api.get("/api/v1/collections/", HTTP_X_REQUEST_ID="bad id\twith spaces")
    assert response["X-Request-ID"] != "bad id\twith spaces"


def test_406_for_an_unsatisfiable_accept(api):
    response = api.get("/api/v1/collections/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"
