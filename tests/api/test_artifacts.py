import pytest

from collections_app.models import Artifact
from tests.factories import ArtifactFactory, CollectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user)


def test_create_parses_and_stores_the_source(api, collection):
    response = api.post(
        "/api/v1/artifacts/",
        {
            "collection": str(collection.id),
            "type": "skill",
            "name": "pdf",
            "source": "https://github.com/anthropics/skills/tree/main/skills/pdf",
            "tags": ["docs"],
            "locked_fields": ["title", "description", "title"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["source_kind"] == "github"
    assert (body["upstream_owner"], body["upstream_repo"]) == ("anthropics", "skills")
    assert (body["upstream_path"], body["upstream_ref"]) == ("skills/pdf", "main")
    assert body["locked_fields"] == ["description", "title"]
    assert body["update_available"] is None


def test_editing_the_source_reparses_it(api, collection):
    artifact = ArtifactFactory(collection=collection, source="acme/one/x")
    r = api.patch(f"/api/v1/artifacts/{artifact.id}/", {"source": "acme/two/y@v2"}, format="json")
    assert r.status_code == 200, r.json()
    artifact.refresh_from_db()
    assert (artifact.upstream_repo, artifact.upstream_path, artifact.upstream_ref) == (
        "two",
        "y",
        "v2",
    )


@pytest.mark.parametrize(
    ("source", "kind"),
    [("", "none"), ("./local/skill", "local"), ("https://gitlab.com/acme/x", "unsupported")],
)
def test_non_github_sources_are_accepted_and_stored_as_not_refreshable(
    api, collection, source, kind
):
    r = api.post(
        "/api/v1/artifacts/",
        {"collection": str(collection.id), "type": "command", "name": "c", "source": source},
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["source_kind"] == kind


@pytest.mark.parametrize(
    "source", ["acme/../etc", "bad owner/x", "https://github.com/onlyowner", "acme/x@bad..ref"]
)
def test_invalid_github_source_is_a_400_naming_the_problem(api, collection, source):
    r = api.post(
        "/api/v1/artifacts/",
        {"collection": str(collection.id), "type": "skill", "name": "x", "source": source},
        format="json",
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_request"
    assert body["details"]["source"][0].startswith("Invalid source:")
    assert not Artifact.objects.exists()


@pytest.mark.parametrize("name", ["a/b", "a\\b", "x..y", ".hidden"])
def test_unsafe_names_are_rejected(api, collection, name):
    r = api.post(
        "/api/v1/artifacts/",
        {"collection": str(collection.id), "type": "skill", "name": name, "source": "a/b"},
        format="json",
    )
    assert r.status_code == 400 and "name" in r.json()["details"]


def test_names_are_unique_per_collection_and_type(api, collection):
    payload = {"collection": str(collection.id), "type": "skill", "name": "dup", "source": "a/b"}
    assert api.post("/api/v1/artifacts/", payload, format="json").status_code == 201
    again = api.post("/api/v1/artifacts/", payload, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_exists" and "name" in again.json()["details"]
    payload["type"] = "agent"
    assert api.post("/api/v1/artifacts/", payload, format="json").status_code == 201


def test_unknown_type_and_unknown_locked_field_are_rejected(api, collection):
    r = api.post(
        "/api/v1/artifacts/",
        {
            "collection": str(collection.id),
            "type": "plugin",
            "name": "x",
            "locked_fields": ["size"],
        },
        format="json",
    )
    assert r.status_code == 400
    assert set(r.json()["details"]) == {"type", "locked_fields"}


def test_cannot_add_an_artifact_to_another_users_collection(other_api, collection):
    r = other_api.post(
        "/api/v1/artifacts/",
        {"collection": str(collection.id), "type": "skill", "name": "x", "source": "a/b"},
        format="json",
    )
    # The same answer as for a collection that does not exist: its existence is not disclosed.
    assert r.status_code == 404 and "collection" in r.json()["details"]
    assert r.json()["code"] == "not_found"
    assert not Artifact.objects.exists()


def test_crud_and_owner_scoping(api, other_api, collection):
    artifact = ArtifactFactory(collection=collection)
    url = f"/api/v1/artifacts/{artifact.id}"
    assert api.get(url).status_code == 200
    assert other_api.get(url).status_code == 404
    assert other_api.delete(url).status_code == 404
    assert api.patch(url, {"tags": ["a", "b"]}, format="json").json()["tags"] == ["a", "b"]
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_list_filters_by_collection_type_and_name(api, user, collection):
    other = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, type="skill", name="pdf")
    ArtifactFactory(collection=collection, type="agent", name="reviewer")
    ArtifactFactory(collection=other, type="skill", name="pdf")

    def names(query: str) -> list[tuple[str, str]]:
        results = api.get(f"/api/v1/artifacts/?{query}").json()["results"]
        return sorted((a["type"], a["name"]) for a in results)

    assert names(f"collection={collection.id}") == [("agent", "reviewer"), ("skill", "pdf")]
    assert names("type=agent") == [("agent", "reviewer")]
    assert names(f"name=pdf&collection={other.id}") == [("skill", "pdf")]
    assert len(names("name=pdf")) == 2
    bad = api.get("/api/v1/artifacts/?type=plugin")
    assert bad.status_code == 400 and "type" in bad.json()["details"]


@pytest.mark.parametrize(
    "source", ["a/b/c@" + "r" * 300, "https://github.com/a/b/tree/" + "r" * 300]
)
def test_an_over_long_ref_is_a_400_on_every_database(api, collection, source):
    r = api.post(
        "/api/v1/artifacts/",
        {"collection": str(collection.id), "type": "skill", "name": "x", "source": source},
        format="json",
    )
    assert r.status_code == 400
    assert "ref is longer" in r.json()["details"]["source"][0]
