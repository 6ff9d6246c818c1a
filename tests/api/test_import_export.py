"""POST /api/v1/collections/import and GET /api/v1/collections/{id}/export over HTTP."""

import tomllib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from collections_app.models import Artifact, Collection
from tests.factories import ArtifactFactory, CollectionFactory
from tests.manifest.conftest import AGENT, SKILL, fixture_text, manifest

pytestmark = pytest.mark.django_db

IMPORT = "/api/v1/collections/import"
TOML = "application/toml"


def post_toml(api, text: str | bytes, query: str = ""):
    return api.post(f"{IMPORT}{query}", data=text, content_type=TOML)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "details", "request_id"}
    assert body["code"] == code
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_import_a_toml_body_creates_the_collection(api, user):
    response = post_toml(api, fixture_text("full.toml"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"collection_id", "created", "dry_run", "artifacts"}
    assert body["created"] is True and body["dry_run"] is False
    assert body["artifacts"][0] == {
        "type": "skill",
        "name": "pdf-tools",
        "status": "created",
        "reason": None,
    }
    collection = Collection.objects.get(pk=body["collection_id"])
    assert collection.owner == user and collection.artifacts.count() == 6


def test_import_again_answers_200_and_updates_in_place(api):
    first = post_toml(api, manifest(SKILL)).json()
    response = post_toml(api, manifest(SKILL + '\ntags = ["new"]'))
    assert response.status_code == 200
    body = response.json()
    assert body["collection_id"] == first["collection_id"] and body["created"] is False
    assert body["artifacts"] == [
        {"type": "skill", "name": "pdf", "status": "updated", "reason": "tags"}
    ]


def test_import_a_multipart_upload(api):
    upload = SimpleUploadedFile("collection.toml", fixture_text("full.toml").encode(), TOML)
    response = api.post(IMPORT, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert len(response.json()["artifacts"]) == 6


def test_multipart_without_the_file_field_is_a_400(api):
    upload = SimpleUploadedFile("collection.toml", manifest(SKILL).encode(), TOML)
    response = api.post(IMPORT, {"manifest": upload}, format="multipart")
    body = assert_error(response, 400, "invalid_request")
    assert "file" in body["details"]


def test_dry_run_answers_200_and_writes_nothing(api):
    response = post_toml(api, manifest(SKILL, AGENT), "?dry_run=true")
    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] is True and body["created"] is True
    assert body["collection_id"] is None
    assert [a["status"] for a in body["artifacts"]] == ["created", "created"]
    assert not Collection.objects.exists()


@pytest.mark.parametrize("query", ["?dry_run=maybe", "?name=", "?name=%20%20"])
def test_malformed_query_parameters_are_a_400(api, query):
    assert_error(post_toml(api, manifest(SKILL), query), 400, "invalid_request")
    assert not Collection.objects.exists()


def test_name_parameter_picks_the_collection(api):
    body = post_toml(api, manifest(SKILL), "?name=Other%20name").json()
    assert Collection.objects.get(pk=body["collection_id"]).name == "Other name"


def test_a_name_parameter_with_a_nul_is_a_400_not_a_database_error(api):
    """The manifest's own texts refuse NUL (PostgreSQL text cannot hold it); `?name=` must too."""
    response = post_toml(api, manifest(SKILL), "?name=a%00b")
    body = assert_error(response, 400, "invalid_request")
    assert set(body["details"]) == {"name"}
    assert not Collection.objects.exists()


def test_a_pin_that_makes_the_source_too_long_is_an_invalid_entry(api):
    """`upstream` fits its 500 characters, but with the pin of `version_spec` appended the
    source would not fit the artifact's column: a 400 naming the entry, not a database error."""
    upstream = "acme/skills/" + "/".join(["d" * 60] * 8)[:485]
    entry = SKILL.replace("acme/skills/skills/pdf", upstream) + 'version_spec = "v1.2.3-rc1"\n'
    body = assert_error(post_toml(api, manifest(entry)), 400, "invalid_request")
    assert set(body["details"]) == {"artifacts[0] (skill:pdf)"}
    assert "500" in body["details"]["artifacts[0] (skill:pdf)"][0]
    assert not Collection.objects.exists() and not Artifact.objects.exists()


def test_invalid_entries_are_a_400_naming_them_and_nothing_is_written(api):
    bad_source = AGENT.replace("acme/agents/agents/reviewer.md", "not a source!")
    dotdot = SKILL.replace('name = "pdf"', 'name = "x"').replace("skills/pdf", "../x")
    response = post_toml(api, manifest(SKILL, bad_source, dotdot, 'name = "y"\ntype = "plugin"'))
    body = assert_error(response, 400, "invalid_request")
    assert set(body["details"]) == {
        "artifacts[1] (agent:reviewer)",
        "artifacts[2] (skill:x)",
        "artifacts[3] (plugin:y)",
    }
    assert "artifacts[1] (agent:reviewer)" in body["message"]
    assert "nothing was imported" in body["message"]
    assert not Collection.objects.exists() and not Artifact.objects.exists()


def test_duplicate_names_are_a_400(api):
    body = assert_error(post_toml(api, manifest(SKILL, SKILL)), 400, "invalid_request")
    assert list(body["details"]) == ["artifacts[1] (skill:pdf)"]


@pytest.mark.parametrize(
    "data", [b"this is not toml", b"\x89PNG\r\n\x1a\n", b"[collection]\nname = 'unterminated"]
)
def test_not_toml_is_a_400(api, data):
    body = assert_error(post_toml(api, data), 400, "invalid_request")
    assert list(body["details"]) == ["manifest"]


def test_an_empty_body_is_a_400(api):
    assert_error(post_toml(api, b""), 400, "invalid_request")


def test_over_five_mib_is_a_413(api):
    big = manifest(SKILL).encode() + b"\n#" + b"x" * (5 * 1024 * 1024)
    body = assert_error(post_toml(api, big), 413, "payload_too_large")
    assert body["details"] == {"max_bytes": 5 * 1024 * 1024}
    assert not Collection.objects.exists()


def test_a_manifest_larger_than_other_bodies_may_be_is_accepted(api, settings):
    # Other API bodies stop at DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB); a manifest may be 5 MiB.
    padding = b"\n" + b"# an old note kept in the file\n" * (3 * 1024 * 1024 // 31)
    text = manifest(SKILL).encode() + padding
    assert len(text) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert post_toml(api, text).status_code == 201
    upload = SimpleUploadedFile("c.toml", text, TOML)
    response = api.post(f"{IMPORT}?name=again", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content


def test_a_multipart_upload_over_the_limit_is_a_413(api, settings):
    settings.COLLECTION_IMPORT_MAX_BYTES = 1000
    upload = SimpleUploadedFile("c.toml", manifest(SKILL).encode() + b"#" * 1000, TOML)
    assert_error(api.post(IMPORT, {"file": upload}, format="multipart"), 413, "payload_too_large")


def test_a_body_at_the_limit_is_accepted(api, settings):
    text = manifest(SKILL).encode()
    settings.COLLECTION_IMPORT_MAX_BYTES = len(text)
    assert post_toml(api, text).status_code == 201


def test_json_is_an_unsupported_media_type(api):
    response = api.post(IMPORT, {"collection": {"name": "x"}}, format="json")
    assert_error(response, 415, "unsupported_media_type")


def test_import_needs_authentication(anon_api):
    assert_error(post_toml(anon_api, manifest(SKILL)), 401, "not_authenticated")


def test_import_answers_with_and_without_the_trailing_slash(api):
    assert api.post(f"{IMPORT}/", manifest(SKILL), content_type=TOML).status_code == 201
    assert post_toml(api, manifest(SKILL)).status_code == 200


def test_import_goes_into_the_callers_own_collection(api, other_user):
    theirs = CollectionFactory(owner=other_user, name="work")
    body = post_toml(api, manifest(SKILL)).json()
    assert body["created"] is True and body["collection_id"] != str(theirs.id)
    assert not theirs.artifacts.exists()


# --- export ------------------------------------------------------------------------------


def export_url(collection) -> str:
    return f"/api/v1/collections/{collection.id}/export"


def test_export_answers_a_toml_attachment(api, user):
    collection = CollectionFactory(owner=user, name="My skills")
    ArtifactFactory(collection=collection, name="pdf", tags=["docs"])
    response = api.get(export_url(collection))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/toml")
    assert response["Content-Disposition"] == 'attachment; filename="My skills.toml"'
    document = tomllib.loads(response.content.decode())
    assert document["collection"]["name"] == "My skills"
    assert document["artifacts"][0]["tags"] == ["docs"]


def test_export_filename_never_carries_quotes_or_slashes(api, user):
    collection = CollectionFactory(owner=user, name='a"b/c\\d\r\ne')
    response = api.get(export_url(collection))
    assert response["Content-Disposition"] == 'attachment; filename="a_b_c_d_e.toml"'


def test_import_export_import_over_the_api_changes_nothing(api):
    created = post_toml(api, fixture_text("full.toml")).json()
    collection = Collection.objects.get(pk=created["collection_id"])
    exported = api.get(export_url(collection)).content
    again = post_toml(api, exported)
    assert again.status_code == 200
    assert {a["status"] for a in again.json()["artifacts"]} == {"unchanged"}
    assert api.get(export_url(collection)).content == exported


def test_another_users_collection_is_404_in_the_error_shape(api, other_user):
    theirs = CollectionFactory(owner=other_user)
    assert_error(api.get(export_url(theirs)), 404, "not_found")


def test_staff_may_export_any_collection(staff_api, other_user):
    theirs = CollectionFactory(owner=other_user)
    assert staff_api.get(export_url(theirs)).status_code == 200


def test_export_needs_authentication(anon_api, user):
    collection = CollectionFactory(owner=user)
    assert_error(anon_api.get(export_url(collection)), 401, "not_authenticated")


def test_export_with_an_accept_it_cannot_satisfy_is_406_in_json(api, user):
    collection = CollectionFactory(owner=user)
    response = api.get(export_url(collection), HTTP_ACCEPT="application/json")
    assert_error(response, 406, "not_acceptable")
    assert api.get(export_url(collection), HTTP_ACCEPT="*/*").status_code == 200
    assert api.get(export_url(collection) + "/", HTTP_ACCEPT=TOML).status_code == 200


def test_schema_documents_both_operations_exactly(api):
    import yaml

    schema = yaml.safe_load(api.get("/api/schema/").content)
    imp = schema["paths"]["/api/v1/collections/import/"]["post"]
    # 406 as on every operation: an Accept the JSON answers cannot satisfy.
    assert set(imp["responses"]) == {"200", "201", "400", "401", "406", "413", "415", "429"}
    assert set(imp["requestBody"]["content"]) == {TOML, "multipart/form-data"}
    assert {p["name"] for p in imp["parameters"]} == {"name", "dry_run"}
    ok = imp["responses"]["201"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ImportResult"}
    exp = schema["paths"]["/api/v1/collections/{id}/export/"]["get"]
    assert set(exp["responses"]) == {"200", "401", "404", "406"}
    assert set(exp["responses"]["200"]["content"]) == {TOML}
    for code in ("401", "404", "406"):
        assert set(exp["responses"][code]["content"]) == {"application/json"}


@pytest.mark.parametrize("method", ["options", "delete", "post"])
def test_other_methods_on_export_answer_json(api, user, method):
    collection = CollectionFactory(owner=user)
    response = getattr(api, method)(export_url(collection))
    assert response["Content-Type"].startswith("application/json")
    if method == "options":
        assert response.status_code == 200 and response.json()["name"]
    else:
        assert_error(response, 405, "method_not_allowed")
