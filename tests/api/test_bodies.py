"""Bodies the API refuses: too large (413) and refresh bodies that are JSON but not objects."""

import json

import pytest

from refresher.models import RefreshRun
from tests.api.test_errors import assert_error
from tests.factories import CollectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user)


def refresh_url(collection) -> str:
    return f"/api/v1/collections/{collection.id}/refresh"


def test_a_3_mb_refresh_body_is_a_413_in_the_error_shape(api, collection):
    big = json.dumps({"artifact_filter": {"name": "x" * 3_000_000}})

    response = api.generic("POST", refresh_url(collection), big, content_type="application/json")

    body = assert_error(response, 413, "payload_too_large")
    assert "2621440 bytes" in body["message"]
    assert body["details"] is None
    assert not RefreshRun.objects.exists()


@pytest.mark.parametrize(
    "content_type, payload",
    [
        ("application/json", lambda n: json.dumps({"name": "n", "description": "d" * n})),
        ("application/x-www-form-urlencoded", lambda n: "name=n&description=" + "d" * n),
    ],
    ids=["json", "form"],
)
def test_the_limit_is_data_upload_max_memory_size_to_the_byte(api, settings, content_type, payload):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    overhead = len(payload(0))
    fits = payload(4096 - overhead)
    assert len(fits) == 4096

    too_big = api.generic("POST", "/api/v1/collections/", fits + "d", content_type=content_type)
    assert_error(too_big, 413, "payload_too_large")
    accepted = api.generic("POST", "/api/v1/collections/", fits, content_type=content_type)
    assert accepted.status_code in (201, 400)  # read and judged on its content, not its size


def test_a_multipart_field_over_the_limit_is_a_413_too(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    response = api.post(
        "/api/v1/collections/", {"name": "n", "description": "d" * 5000}, format="multipart"
    )
    assert_error(response, 413, "payload_too_large")


def test_oversized_bodies_are_refused_on_every_writing_method(api, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    collection = CollectionFactory(owner=user)
    big = json.dumps({"description": "d" * 3000})
    for method in ("PUT", "PATCH"):
        response = api.generic(
            method, f"/api/v1/collections/{collection.id}/", big, content_type="application/json"
        )
        assert_error(response, 413, "payload_too_large")
    collection.refresh_from_db()
    assert collection.description != "d" * 3000


@pytest.mark.parametrize("body", ["null", "[]", '[{"mode": "sync"}]', '"sync"', "42", "true"])
def test_a_refresh_body_that_is_json_but_not_an_object_is_a_400(api, collection, body):
    response = api.generic("POST", refresh_url(collection), body, content_type="application/json")

    answer = assert_error(response, 400, "invalid_request")
    assert answer["details"] == {"non_field_errors": ["Expected a JSON object."]}
    assert not RefreshRun.objects.exists()


@pytest.mark.parametrize("body", ["", "{}"], ids=["no body", "empty object"])
def test_no_body_and_an_empty_object_still_mean_the_defaults(api, collection, body):
    response = api.generic("POST", refresh_url(collection), body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["mode"] == "metadata_only"


def test_the_schema_documents_413_on_every_operation_that_takes_a_body(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    writing = [
        (path, method, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch")
    ]
    assert writing
    for path, method, operation in writing:
        assert "413" in operation["responses"], (method, path)
    refresh = schema["paths"]["/api/v1/collections/{id}/refresh/"]["post"]["responses"]["413"]
    assert refresh["content"]["application/json"]["schema"]["$ref"].endswith("/RefreshError")


@pytest.mark.parametrize("action", ["refresh", "discover"])
def test_a_multipart_body_with_a_file_spooled_to_disk_is_a_400(api, collection, settings, action):
    # Uploads over FILE_UPLOAD_MAX_MEMORY_SIZE are kept in temporary files, which cannot be
    # deep-copied: a form parser copying request.data wholesale answered 500.
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    upload = SimpleUploadedFile("big.bin", b"x" * 4096)

    response = api.post(
        f"/api/v1/collections/{collection.id}/{action}", {"mode": upload}, format="multipart"
    )

    assert_error(response, 400, "invalid_request")
    assert not RefreshRun.objects.exists()


def test_a_multipart_body_over_the_limit_is_a_413_even_when_it_is_a_file(api, collection, settings):
    # Only the collection.toml import takes uploads (under its own limit); anywhere else a file
    # part would otherwise be spooled to disk whatever its size.
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    upload = SimpleUploadedFile("big.bin", b"x" * 5000)

    response = api.post(refresh_url(collection), {"mode": upload}, format="multipart")

    assert_error(response, 413, "payload_too_large")
    assert not RefreshRun.objects.exists()
