"""The marketplace over HTTP (SPEC 15): the owner's manifest and summary, share links, and the
manifest by share link with no login."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from collections_app.marketplace.links import token_hash
from collections_app.marketplace.views import ShareLinkThrottle
from collections_app.models import ShareLink
from tests.factories import ArtifactFactory, CollectionFactory
from tests.marketplace_kit import share_link_url

pytestmark = pytest.mark.django_db


def manifest_url(collection) -> str:
    return f"/api/v1/collections/{collection.pk}/marketplace.json"


def test_the_owner_reads_the_manifest_of_a_synced_collection(api, synced, upstream):
    answer = api.get(manifest_url(synced))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    manifest = json.loads(answer.content)
    assert manifest["name"] == "team-kit"
    assert manifest["owner"] == {"name": "alice"}
    assert manifest["description"] == "What we use."
    by_name = {p["name"]: p for p in manifest["plugins"]}
    # Sorted by type, then name.
    assert [p["category"] for p in manifest["plugins"]] == [
        "agent",
        "command",
        "hook",
        "mcp",
        "skill",
    ]
    head = upstream.head()
    url = f"file://{upstream.path}"
    assert by_name["pdf"]["source"] == {
        "source": "git-subdir",
        "url": url,
        "path": "skills/pdf",
        "sha": head,
    }
    assert by_name["pdf"]["skills"] == ["./"]
    assert by_name["reviewer"]["agents"] == ["./reviewer.md"]
    assert by_name["reviewer"]["source"]["path"] == "agents"
    assert by_name["changelog"]["commands"] == ["./changelog.md"]
    assert by_name["format-on-edit"]["hooks"] == {
        "PostToolUse": [
            {
                "matcher": "Write|Edit",
                "hooks": [
                    {"type": "command", "command": 'npx prettier --write "$CLAUDE_FILE_PATHS"'}
                ],
            }
        ]
    }
    assert by_name["tickets"]["mcpServers"]["tickets"]["args"] == ["-y", "@acme/tickets-mcp"]
    assert by_name["tickets"]["source"]["path"] == "."
    assert all(p["strict"] is False and "version" not in p for p in manifest["plugins"])


def test_an_etag_answers_304_until_the_collection_changes(api, synced):
    first = api.get(manifest_url(synced))
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = api.get(manifest_url(synced), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert api.get(manifest_url(synced), HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304

    synced.artifacts.filter(name="pdf").update(description="Now with forms.")
    changed = api.get(manifest_url(synced), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_another_users_collection_is_404_and_anonymous_is_401(other_api, anon_api, synced):
    assert other_api.get(manifest_url(synced)).json()["code"] == "not_found"
    assert anon_api.get(manifest_url(synced)).status_code == 401
    assert other_api.get(f"/api/v1/collections/{synced.pk}/share-links").status_code == 404
    assert other_api.post(f"/api/v1/collections/{synced.pk}/share-links", {}).status_code == 404


def test_the_summary_counts_plugins_omitted_artifacts_and_links(api, synced):
    ArtifactFactory(collection=synced, name="notes", source="")
    ArtifactFactory(collection=synced, name="fresh", source="acme/skills/skills/fresh")
    ArtifactFactory(collection=synced, name="elsewhere", source="https://example.com/a/b")
    share_link_url(synced)
    answer = api.get(f"/api/v1/collections/{synced.pk}/marketplace")
    assert answer.status_code == 200
    body = answer.json()
    assert body["name"] == "team-kit"
    assert body["plugins"] == 5
    assert body["share_links"] == 1
    assert body["manifest_url"] == f"http://testserver{manifest_url(synced)}"
    reasons = {o["name"]: o["reason"] for o in body["omitted"]}
    assert reasons == {
        "notes": "no_upstream",
        "fresh": "not_synced",
        "elsewhere": "unsupported_source",
    }


def test_a_share_link_is_shown_once_and_reads_the_same_manifest_with_no_login(api, synced):
    made = api.post(
        f"/api/v1/collections/{synced.pk}/share-links", {"label": "laptops"}, format="json"
    )
    assert made.status_code == 201
    body = made.json()
    assert set(body) == {"id", "label", "url", "created_at"}
    assert body["label"] == "laptops"
    prefix, token = "http://testserver/m/", body["url"].split("/")[-2]
    assert body["url"] == f"{prefix}{token}/marketplace.json"
    assert len(token) >= 43  # 256 bits, URL-safe base 64
    link = ShareLink.objects.get()
    assert link.token_hash == token_hash(token) and token not in link.token_hash

    listed = api.get(f"/api/v1/collections/{synced.pk}/share-links").json()
    assert listed["count"] == 1
    assert set(listed["results"][0]) == {"id", "label", "created_at", "last_used_at"}
    assert token not in json.dumps(listed)

    shared = APIClient().get(f"/m/{token}/marketplace.json")
    assert shared.status_code == 200
    assert shared.content == api.get(manifest_url(synced)).content
    assert shared["ETag"] == api.get(manifest_url(synced))["ETag"]
    again = APIClient().get(f"/m/{token}/marketplace.json", HTTP_IF_NONE_MATCH=shared["ETag"])
    assert again.status_code == 304


def test_an_unknown_and_a_revoked_token_get_the_same_404(api, synced):
    path = share_link_url(synced)
    link = ShareLink.objects.get()
    assert api.delete(f"/api/v1/collections/{synced.pk}/share-links/{link.pk}").status_code == 204
    assert api.delete(f"/api/v1/collections/{synced.pk}/share-links/{link.pk}").status_code == 404

    revoked = APIClient().get(path, HTTP_X_REQUEST_ID="same")
    unknown = APIClient().get("/m/" + "A" * 43 + "/marketplace.json", HTTP_X_REQUEST_ID="same")
    garbage = APIClient().get("/m/%20not-a-token/marketplace.json", HTTP_X_REQUEST_ID="same")
    assert revoked.status_code == unknown.status_code == garbage.status_code == 404
    assert revoked.content == unknown.content == garbage.content
    assert revoked.json() == {
        "code": "not_found",
        "message": "Not found.",
        "details": None,
        "request_id": "same",
    }


def test_a_token_is_looked_up_in_one_query_whether_it_exists_or_not(synced):
    live = share_link_url(synced)
    dead = "/m/" + "B" * 43 + "/marketplace.json"
    for path in (live, dead):
        with CaptureQueriesContext(connection) as queries:
            APIClient().get(path)
        lookups = [q["sql"] for q in queries if "collections_app_sharelink" in q["sql"]]
        # The throttle's counter is the only other query before the lookup.
        assert len([q for q in lookups if q.lstrip().startswith("SELECT")]) == 1, lookups


def test_a_link_reads_its_own_collection_and_nothing_else(synced, user):
    other = CollectionFactory(owner=user, name="Other")
    ArtifactFactory(collection=other, name="secret-skill", resolved_sha="f" * 40)
    path = share_link_url(other)
    manifest = APIClient().get(path).json()
    assert manifest["name"] == "other"
    assert [p["name"] for p in manifest["plugins"]] == ["secret-skill"]
    token = path.split("/")[2]
    client = APIClient()
    for elsewhere in (
        f"/api/v1/collections/{synced.pk}/marketplace.json",
        f"/api/v1/collections/{other.pk}/",
        "/api/v1/collections/",
    ):
        assert client.get(elsewhere, HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


def test_last_used_at_is_written_at_most_once_a_minute(synced):
    path = share_link_url(synced)
    link = ShareLink.objects.get()
    assert link.last_used_at is None
    APIClient().get(path)
    link.refresh_from_db()
    first = link.last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        APIClient().get(path)
    assert not any(q["sql"].startswith("UPDATE") and "sharelink" in q["sql"] for q in queries)
    link.refresh_from_db()
    assert link.last_used_at == first

    ShareLink.objects.update(last_used_at=timezone.now() - timezone.timedelta(minutes=2))
    APIClient().get(path)
    link.refresh_from_db()
    assert link.last_used_at > first


def test_manifest_reads_by_share_link_are_throttled_per_address(synced, monkeypatch):
    monkeypatch.setattr(ShareLinkThrottle, "rate", "3/min", raising=False)
    path = share_link_url(synced)
    client = APIClient()
    answers = [client.get(path).status_code for _ in range(3)]
    refused = client.get("/m/" + "C" * 43 + "/marketplace.json")
    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1


def test_a_label_with_invisible_characters_or_unknown_keys_is_a_400(api, synced):
    url = f"/api/v1/collections/{synced.pk}/share-links"
    assert api.post(url, {"label": "a\u202eb"}, format="json").status_code == 400
    assert api.post(url, {"lable": "x"}, format="json").json()["code"] == "invalid_request"
    assert api.post(url, {}, format="json").json()["label"] == ""
    assert ShareLink.objects.count() == 1


@pytest.mark.parametrize("size", [1, 50])
def test_the_manifest_takes_the_same_queries_at_1_and_50_artifacts(
    api, user, django_assert_num_queries, size
):
    collection = CollectionFactory(owner=user, name="Big")
    for i in range(size):
        ArtifactFactory(
            collection=collection,
            name=f"skill-{i:03d}",
            source=f"acme/skills/skills/skill-{i:03d}",
            resolved_sha=f"{i:040x}",
        )
    path = share_link_url(collection)
    # Owner: the token's user, the collection with its owner, the artifacts.
    with django_assert_num_queries(3):
        answer = api.get(manifest_url(collection))
    assert len(answer.json()["plugins"]) == size
    # Share link: the throttle's counter and (first in its window) the clearing of its old
    # windows, the link with its collection and owner, last_used_at (first use), the artifacts.
    with django_assert_num_queries(5):
        shared = APIClient().get(path)
    assert len(shared.json()["plugins"]) == size


def test_a_collection_with_nothing_to_install_has_no_manifest_but_a_summary(api, user):
    collection = CollectionFactory(owner=user, name="Fresh")
    ArtifactFactory(collection=collection, name="unsynced")
    ArtifactFactory(collection=collection, name="mine", source="")
    path = share_link_url(collection)
    for answer in (api.get(manifest_url(collection)), APIClient().get(path)):
        assert answer.status_code == 409
        body = answer.json()
        assert body["code"] == "marketplace_empty"
        assert body["details"] == {"omitted": 2}
    summary = api.get(f"/api/v1/collections/{collection.pk}/marketplace").json()
    assert summary["plugins"] == 0 and len(summary["omitted"]) == 2


def test_a_link_of_another_collection_cannot_be_revoked_through_yours(api, synced, other_user):
    theirs = CollectionFactory(owner=other_user, name="Theirs")
    share_link_url(theirs)
    link = ShareLink.objects.get(collection=theirs)
    assert api.delete(f"/api/v1/collections/{synced.pk}/share-links/{link.pk}").status_code == 404
    assert api.delete(f"/api/v1/collections/{theirs.pk}/share-links/{link.pk}").status_code == 404
    assert ShareLink.objects.filter(pk=link.pk).exists()


def test_other_paths_under_m_are_404s_in_the_error_shape(synced):
    path = share_link_url(synced)
    for wrong in (path + "/", path.replace("marketplace.json", "plugins.json"), "/m/"):
        answer = APIClient().get(wrong)
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"
    assert APIClient().head(path).status_code == 200
