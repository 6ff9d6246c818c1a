"""Each disagreement schemathesis found between the OpenAPI document and the server, pinned down.

For each: what the document says and what the server does, checked side by side, so a change to
either that breaks their agreement fails here with a readable message (the contract run in
test_openapi_contract.py would find it too, but slower and less plainly).
"""

import re

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from collections_app.fields import NAME_PATTERN
from collections_app.models import Artifact, Collection
from collections_app.refresh_serializers import FIELD_NAME_PATTERN
from collections_app.serializers import ARTIFACT_NAME_PATTERN, ArtifactNameField
from refresher.changes import FIELDS
from refresher.models import RefreshRun
from refresher.options import normalize_fields
from tests.factories import ArtifactFactory, CollectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict:
    import yaml

    with django_db_blocker.unblock():
        from io import StringIO

        out = StringIO()
        call_command("spectacular", stdout=out)
    return yaml.safe_load(out.getvalue())


@pytest.fixture
def collection(user) -> Collection:
    return CollectionFactory(owner=user)


def operation(schema: dict, path: str, method: str) -> dict:
    return schema["paths"][path][method]


def component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def refresh_url(collection: Collection) -> str:
    return f"/api/v1/collections/{collection.id}/refresh"


class TestPagination:
    """Lists answered 404 for `page=0`, which no list documented."""

    LISTS = ["/api/v1/collections/", "/api/v1/artifacts/", "/api/v1/refresh-runs/"]

    @pytest.mark.parametrize("path", LISTS)
    def test_lists_document_their_404_and_the_bounds_of_page_and_page_size(self, schema, path):
        op = operation(schema, path, "get")
        assert "404" in op["responses"] and "400" in op["responses"]
        params = {p["name"]: p["schema"] for p in op["parameters"]}
        assert params["page"]["minimum"] == 1
        assert (params["page_size"]["minimum"], params["page_size"]["maximum"]) == (1, 500)

    @pytest.mark.parametrize("query", ["page=0", "page=abc", "page=-1", "page=1.0", "page=last"])
    def test_a_page_that_is_not_a_number_from_1_is_a_400(self, api, query):
        response = api.get(f"/api/v1/collections/?{query}")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_request"
        assert "page" in response.json()["details"]

    @pytest.mark.parametrize("page", ["2", "99", "34527039378192371712"])
    def test_a_page_past_the_last_is_the_documented_404(self, api, user, page):
        CollectionFactory(owner=user)
        response = api.get(f"/api/v1/collections/?page={page}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    @pytest.mark.parametrize("size", ["0", "501", "ten", "-5"])
    def test_a_page_size_outside_1_to_500_is_a_400_not_the_default(self, api, size):
        response = api.get(f"/api/v1/artifacts/?page_size={size}")
        assert response.status_code == 400
        assert "page_size" in response.json()["details"]

    def test_page_size_within_bounds_is_used(self, api, user):
        for _ in range(3):
            CollectionFactory(owner=user)
        body = api.get("/api/v1/collections/?page_size=2&page=2").json()
        assert body["count"] == 3 and len(body["results"]) == 1


class TestLengthsAndShapes:
    """Request schemas carry the limits the server enforces."""

    @pytest.mark.parametrize(
        ("component_name", "model"),
        [("CollectionRequest", Collection), ("ArtifactRequest", Artifact)],
    )
    def test_every_stored_text_limit_is_a_max_length(self, schema, component_name, model):
        properties = component(schema, component_name)["properties"]
        for name, prop in properties.items():
            field = model._meta.get_field(name)
            if getattr(field, "max_length", None) and prop.get("type") == "string":
                assert prop.get("maxLength") == field.max_length, name

    def test_a_name_longer_than_the_stored_maximum_is_a_400(self, api):
        response = api.post("/api/v1/collections/", {"name": "n" * 201}, format="json")
        assert response.status_code == 400 and "name" in response.json()["details"]

    def test_a_blank_name_is_refused_and_the_schema_says_so(self, api, schema):
        pattern = component(schema, "CollectionRequest")["properties"]["name"]["pattern"]
        assert pattern == NAME_PATTERN
        for space in ("\x1d", "\x85", "\u3000", " \t"):
            assert not re.search(pattern, space)
            response = api.post("/api/v1/collections/", {"name": space}, format="json")
            assert response.status_code == 400, repr(space)
        response = api.post("/api/v1/collections/", {"name": "   "}, format="json")
        assert response.status_code == 400

    @settings(max_examples=400, derandomize=True, deadline=None)
    @given(
        st.text(max_size=12) | st.sampled_from(["a..b", ".x", " .x", "a/b", "a\\b", " a ", "a."])
    )
    def test_the_artifact_name_pattern_is_exactly_the_name_rules(self, text):
        field = ArtifactNameField()
        try:
            field.run_validation(text)
            accepted = True
        except serializers.ValidationError:
            accepted = False
        if "\x00" in text:
            return  # U+0000 is refused everywhere; see the contract run's settings
        if any(ord(c) > 0xFFFF and not c.isprintable() for c in text):
            return  # the document states the name rules within the BMP (INVISIBLE_CLASS_BMP)
        assert bool(re.search(ARTIFACT_NAME_PATTERN, text)) == accepted, repr(text)

    @settings(max_examples=300, derandomize=True, deadline=None)
    @given(
        st.sampled_from([*FIELDS, "Title", " LICENSE ", "size", "titles", "", " "])
        | st.text(max_size=10)
    )
    def test_the_field_name_pattern_is_exactly_what_normalize_fields_takes(self, text):
        try:
            normalize_fields([text])
            accepted = True
        except ValueError:
            accepted = False
        assert bool(re.search(FIELD_NAME_PATTERN, text)) == accepted, repr(text)


class TestUnknownKeys:
    """Refresh bodies with unknown keys were refused while the schema allowed them."""

    @pytest.mark.parametrize("name", ["RefreshRequest", "ArtifactFilterRequest"])
    def test_refresh_request_objects_forbid_additional_properties(self, schema, name):
        assert component(schema, name)["additionalProperties"] is False

    def test_an_unknown_key_in_a_refresh_body_is_a_400(self, api, collection):
        response = api.post(refresh_url(collection), {"mdoe": "sync"}, format="json")
        assert response.status_code == 400 and "mdoe" in response.json()["details"]

    def test_collection_bodies_allow_unknown_keys_and_the_server_ignores_them(self, api, schema):
        assert component(schema, "CollectionRequest").get("additionalProperties") is not False
        response = api.post("/api/v1/collections/", {"name": "x", "colour": "red"}, format="json")
        assert response.status_code == 201 and "colour" not in response.json()


class TestRefreshBodies:
    """A multipart refresh with `artifact_filter=null` was accepted though the schema forbade it."""

    def test_the_refresh_body_is_documented_as_json_only(self, schema):
        body = operation(schema, "/api/v1/collections/{id}/refresh/", "post")["requestBody"]
        assert list(body["content"]) == ["application/json"]

    @pytest.mark.parametrize(
        ("path", "method"),
        [
            ("/api/v1/collections/", "post"),
            ("/api/v1/collections/{id}/", "put"),
            ("/api/v1/collections/{id}/", "patch"),
            ("/api/v1/artifacts/", "post"),
            ("/api/v1/artifacts/{id}/", "put"),
            ("/api/v1/artifacts/{id}/", "patch"),
        ],
    )
    def test_bodies_read_by_the_default_parsers_are_documented_as_json(self, schema, path, method):
        # Views that choose their own parsers (an upload, a TOML import) document those instead.
        body = operation(schema, path, method)["requestBody"]
        assert list(body["content"]) == ["application/json"]

    @pytest.mark.parametrize("body", ["null", "[]", '"metadata_only"', "3"])
    def test_a_json_body_that_is_not_an_object_is_a_400(self, api, collection, body):
        response = api.post(refresh_url(collection), body, content_type="application/json")
        assert response.status_code == 400
        assert not RefreshRun.objects.exists()

    def test_an_invalid_body_mode_is_a_400_even_when_the_query_overrides_it(self, api, collection):
        response = api.post(
            f"{refresh_url(collection)}?mode=check_only", {"mode": {}}, format="json"
        )
        assert response.status_code == 400 and "mode" in response.json()["details"]

    def test_artifact_ids_must_be_strings(self, api, collection):
        response = api.post(
            refresh_url(collection), {"artifact_filter": {"ids": [0]}}, format="json"
        )
        assert response.status_code == 400

    def test_an_empty_ids_list_is_refused_and_the_schema_says_min_items(self, api, schema):
        ids = component(schema, "ArtifactFilterRequest")["properties"]["ids"]
        assert ids["minItems"] == 1


class TestPutAndPatch:
    """PUT/PATCH of collections and artifacts refused requests the schema called valid."""

    def test_a_taken_collection_name_is_a_documented_409(self, api, user, schema):
        CollectionFactory(owner=user, name="Taken")
        mine = CollectionFactory(owner=user, name="Mine")
        for method in ("put", "patch"):
            response = getattr(api, method)(
                f"/api/v1/collections/{mine.id}/", {"name": "Taken"}, format="json"
            )
            assert response.status_code == 409, method
            assert response.json()["code"] == "already_exists"
            assert response.json()["details"] == {
                "name": ["You already have a collection with this name."]
            }
            documented = operation(schema, "/api/v1/collections/{id}/", method)["responses"]
            assert "409" in documented

    def test_putting_a_collection_back_under_its_own_name_is_fine(self, api, user):
        mine = CollectionFactory(owner=user, name="Mine")
        response = api.put(f"/api/v1/collections/{mine.id}/", {"name": "Mine"}, format="json")
        assert response.status_code == 200

    def test_a_taken_artifact_name_is_a_409_for_put_and_patch(self, api, collection):
        ArtifactFactory(collection=collection, type="skill", name="taken")
        other = ArtifactFactory(collection=collection, type="skill", name="free")
        url = f"/api/v1/artifacts/{other.id}/"
        assert api.patch(url, {"name": "taken"}, format="json").status_code == 409
        put = {"collection": str(collection.id), "type": "skill", "name": "taken"}
        assert api.put(url, put, format="json").status_code == 409
        put["type"] = "agent"
        assert api.put(url, put, format="json").status_code == 200

    def test_a_body_collection_that_is_not_yours_is_a_documented_404(
        self, api, other_user, collection, schema
    ):
        theirs = CollectionFactory(owner=other_user)
        artifact = ArtifactFactory(collection=collection)
        response = api.patch(
            f"/api/v1/artifacts/{artifact.id}/", {"collection": str(theirs.id)}, format="json"
        )
        assert response.status_code == 404
        assert response.json()["details"] == {"collection": ["No such collection."]}
        assert "404" in operation(schema, "/api/v1/artifacts/", "post")["responses"]
        artifact.refresh_from_db()
        assert artifact.collection_id == collection.id

    @pytest.mark.parametrize("value", [12, 1.5, True, ["x"]])
    def test_text_must_be_a_json_string(self, api, collection, value):
        response = api.patch(
            f"/api/v1/collections/{collection.id}/", {"description": value}, format="json"
        )
        assert response.status_code == 400 and "description" in response.json()["details"]

    def test_a_malformed_url_source_is_a_400_not_a_500(self, api, collection):
        response = api.post(
            "/api/v1/artifacts/",
            {"collection": str(collection.id), "type": "skill", "name": "x", "source": "http://[x"},
            format="json",
        )
        assert response.status_code == 400 and "source" in response.json()["details"]


class TestFilters:
    @pytest.mark.parametrize(
        "query",
        [
            "/api/v1/artifacts/?collection=",
            "/api/v1/artifacts/?type=",
            "/api/v1/artifacts/?update_available=1",
            "/api/v1/artifacts/?update_available=",
            "/api/v1/refresh-runs/?dry_run=yes",
            "/api/v1/refresh-runs/?collection=",
        ],
    )
    def test_a_typed_filter_value_that_is_empty_or_unreadable_is_a_400(self, api, query):
        response = api.get(query)
        assert response.status_code == 400, response.json()

    def test_boolean_filters_are_documented_as_booleans(self, schema):
        for path, name in [
            ("/api/v1/artifacts/", "update_available"),
            ("/api/v1/refresh-runs/", "dry_run"),
        ]:
            params = {p["name"]: p for p in operation(schema, path, "get")["parameters"]}
            assert params[name]["schema"] == {"type": "boolean"}, path


class TestNulCharacters:
    """U+0000 is refused in every string, on SQLite and PostgreSQL alike (never a 500)."""

    def test_in_a_body(self, api):
        response = api.post("/api/v1/collections/", {"name": "a\x00b"}, format="json")
        assert response.status_code == 400

    @pytest.mark.parametrize("param", ["name", "name_contains"])
    def test_in_a_query(self, api, param):
        response = api.get(f"/api/v1/artifacts/?{param}=a%00b")
        assert response.status_code == 400


class TestDocumentedAnswers:
    def test_every_operation_documents_406_and_body_operations_413_and_415(self, schema):
        for path, item in schema["paths"].items():
            for method, op in item.items():
                assert "406" in op["responses"], (method, path)
                if "requestBody" in op:
                    assert {"413", "415", "400"} <= set(op["responses"]), (method, path)

    def test_state_conflicts_of_runs_are_documented_409s(self, schema):
        rollback = operation(schema, "/api/v1/refresh-runs/{id}/rollback/", "post")["responses"]
        refresh = operation(schema, "/api/v1/collections/{id}/refresh/", "post")["responses"]
        assert "rollback_refused" in str(rollback["409"])
        assert "idempotency_key_reused" in str(refresh["409"])
