"""POST /api/v1/collections/{id}/refresh and the refresh-run endpoints."""

import uuid

import pytest

from collections_app.models import Artifact
from refresher.models import RefreshRun, RunStatus
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import RESPONSE_KEYS, add_skills_repo

pytestmark = pytest.mark.django_db

ENTRY_KEYS = {
    "artifact_id",
    "artifact",
    "status",
    "changes",
    "applied",
    "reason",
    "error",
    "current_sha",
    "upstream_sha",
    "update_available",
    "duration_ms",
}


@pytest.fixture
def collection(user, github):
    add_skills_repo(github)
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    ArtifactFactory(collection=collection, name="changelog", source="acme/skills/skills/changelog")
    return collection


def url(collection, slash: str = "") -> str:
    return f"/api/v1/collections/{collection.id}/refresh{slash}"


class TestSignature:
    @pytest.mark.parametrize("slash", ["", "/"])
    def test_post_with_and_without_slash_answers_200_without_redirect(self, api, collection, slash):
        response = api.post(url(collection, slash))
        assert response.status_code == 200, response.content

    def test_only_post_is_allowed(self, api, collection):
        response = api.get(url(collection))
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"

    def test_unknown_collection_is_404(self, api, github):
        response = api.post(f"/api/v1/collections/{uuid.uuid4()}/refresh")
        assert response.status_code == 404 and response.json()["code"] == "not_found"

    def test_another_users_collection_is_404_and_nothing_runs(self, other_api, collection):
        response = other_api.post(url(collection))
        assert response.status_code == 404
        assert not RefreshRun.objects.exists()

    def test_anonymous_is_401(self, anon_api, collection):
        assert anon_api.post(url(collection)).status_code == 401

    def test_staff_may_refresh_any_collection(self, staff_api, collection):
        assert staff_api.post(url(collection)).status_code == 200


class TestRequestBody:
    def test_empty_body_means_defaults(self, api, collection):
        body = api.post(url(collection)).json()
        assert body["mode"] == "metadata_only" and body["dry_run"] is False
        assert body["fields"] == ["description", "title", "author", "license", "topics"]

    def test_empty_object_means_defaults(self, api, collection):
        body = api.post(url(collection), {}, format="json").json()
        assert body["mode"] == "metadata_only"

    def test_empty_body_with_json_content_type(self, api, collection):
        response = api.generic("POST", url(collection), "", content_type="application/json")
        assert response.status_code == 200

    def test_malformed_json_is_400(self, api, collection):
        response = api.generic("POST", url(collection), "{mode:", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_request"
        assert not RefreshRun.objects.exists()

    def test_a_json_array_is_400(self, api, collection):
        response = api.post(url(collection), ["mode"], format="json")
        assert response.status_code == 400
        assert "non_field_errors" in response.json()["details"]

    def test_non_json_media_type_is_rejected(self, api, collection):
        response = api.generic("POST", url(collection), "mode=sync", content_type="text/plain")
        assert response.status_code == 415
        assert response.json()["code"] == "unsupported_media_type"

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"mode": "everything"}, "mode"),
            ({"mode": 3}, "mode"),
            ({"dry_run": "yes"}, "dry_run"),
            ({"dry_run": 1}, "dry_run"),
            ({"background": "true"}, "background"),
            ({"fields": "title"}, "fields"),
            ({"fields": ["title", "size"]}, "fields"),
            ({"artifact_filter": {"type": "plugin"}}, "artifact_filter"),
            ({"artifact_filter": {"ids": ["not-a-uuid"]}}, "artifact_filter"),
            ({"artifact_filter": {"colour": "red"}}, "artifact_filter"),
            ({"artifact_filter": "skill"}, "artifact_filter"),
            ({"unexpected": 1}, "unexpected"),
        ],
    )
    def test_wrong_values_are_400_naming_the_field(self, api, collection, payload, field):
        response = api.post(url(collection), payload, format="json")
        assert response.status_code == 400, response.json()
        body = response.json()
        assert body["code"] == "invalid_request"
        assert field in body["details"]
        assert not RefreshRun.objects.exists()

    def test_unknown_field_lists_the_valid_ones(self, api, collection):
        body = api.post(url(collection), {"fields": ["size"]}, format="json").json()
        assert "description, title, author, license, topics" in body["details"]["fields"][0]

    def test_fields_are_trimmed_lowercased_and_deduplicated(self, api, collection):
        body = api.post(
            url(collection), {"fields": [" Title", "LICENSE", "title"]}, format="json"
        ).json()
        assert body["fields"] == ["title", "license"]

    @pytest.mark.parametrize("value", [None, []])
    def test_null_or_empty_fields_mean_all(self, api, collection, value):
        body = api.post(url(collection), {"fields": value}, format="json").json()
        assert len(body["fields"]) == 5


class TestQueryOverride:
    def test_query_mode_overrides_the_body(self, api, collection):
        response = api.post(url(collection) + "?mode=check_only", {"mode": "sync"}, format="json")
        assert response.status_code == 200
        assert response.json()["mode"] == "check_only"
        assert not Artifact.objects.exclude(description="").exists()

    def test_invalid_query_mode_is_400(self, api, collection):
        response = api.post(url(collection) + "?mode=fast", {}, format="json")
        assert response.status_code == 400
        assert "mode" in response.json()["details"]


def test_full_refresh_applies_changes_and_is_recorded(api, collection, github):
    response = api.post(url(collection), {}, format="json", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= RESPONSE_KEYS
    assert body["status"] == "completed"
    assert body["summary"] == {
        "total": 2,
        "refreshed": 2,
        "unchanged": 0,
        "skipped": 0,
        "error": 0,
        "updates_available": 0,
        "processed": 2,
    }
    assert body["request_id"] == "req-42"
    assert body["rate_limit"]["limit"] == 5000
    assert body["rate_limit"]["reset_at"].endswith("Z")
    assert body["finished_at"].endswith("Z")
    entries = {e["artifact"]: e for e in body["entries"]}
    assert set(entries) == {"skill:pdf", "skill:changelog"}
    assert set(entries["skill:changelog"]) >= ENTRY_KEYS
    assert entries["skill:changelog"]["changes"]["license"] == {
        "old": "",
        "new": "Apache-2.0",
        "applied": True,
    }
    assert entries["skill:pdf"]["error"] is None
    assert Artifact.objects.get(name="changelog").license == "Apache-2.0"

    run = api.get(f"/api/v1/refresh-runs/{body['run_id']}/").json()
    assert run["entries"] == body["entries"]
    assert run["summary"] == body["summary"]
    listed = api.get(f"/api/v1/refresh-runs/?collection={collection.id}").json()
    assert listed["count"] == 1 and "entries" not in listed["results"][0]


def test_entry_errors_stay_inside_a_200_partial(api, collection):
    ArtifactFactory(collection=collection, name="ghost", source="acme/skills/skills/ghost")
    response = api.post(url(collection))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "partial"
    ghost = next(e for e in body["entries"] if e["artifact"] == "skill:ghost")
    assert ghost["status"] == "error"
    assert ghost["error"]["code"] == "upstream_not_found"


def test_github_down_is_503_with_the_failed_run(api, collection, github, settings):
    settings.REFRESH_MAX_RETRIES = 0
    github.fail(r"^/repos/", status=502)
    response = api.post(url(collection))
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "upstream_unavailable"
    run = RefreshRun.objects.get(pk=body["details"]["run_id"])
    assert run.status == RunStatus.FAILED
    assert not Artifact.objects.exclude(description="").exists()


def test_rate_limited_is_503_with_retry_after(api, collection, github):
    github.rate_limit_remaining = 0
    response = api.post(url(collection))
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json()["details"]["run_id"]


def test_a_busy_collection_is_409_with_the_active_run(api, collection, user):
    active = RefreshRun.objects.create(collection=collection, requested_by=user, status="running")
    response = api.post(url(collection))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "refresh_in_progress"
    assert body["details"]["run_id"] == str(active.pk)


def test_refreshes_are_throttled_per_user(api, staff_api, collection, monkeypatch):
    from collections_app.refresh_views import RefreshThrottle

    monkeypatch.setattr(RefreshThrottle, "THROTTLE_RATES", {"refresh": "2/min"})
    codes = [
        api.post(url(collection), {"dry_run": True}, format="json").status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    throttled = api.post(url(collection), {"dry_run": True}, format="json")
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    # Another user has a budget of their own.
    assert staff_api.post(url(collection), {"dry_run": True}, format="json").status_code == 200


class TestBackground:
    def test_background_answers_202_with_location_and_runs(
        self, api, collection, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(url(collection), {"background": True}, format="json")
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "queued"
        assert body["entries"] == []
        assert response["Location"] == f"/api/v1/refresh-runs/{body['run_id']}/"
        polled = api.get(response["Location"]).json()
        assert polled["status"] == "completed"
        assert polled["summary"]["refreshed"] == 2

    def test_large_selection_goes_to_the_background(
        self, api, collection, settings, django_capture_on_commit_callbacks
    ):
        settings.REFRESH_SYNC_MAX_ARTIFACTS = 1
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(url(collection))
        assert response.status_code == 202
        filtered = api.post(
            url(collection), {"artifact_filter": {"name": "pdf"}, "dry_run": True}, format="json"
        )
        assert filtered.status_code == 200


class TestIdempotency:
    def test_the_same_key_and_body_replays_the_first_run(self, api, collection):
        first = api.post(url(collection), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        second = api.post(url(collection), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert first.status_code == second.status_code == 200
        assert first.json()["run_id"] == second.json()["run_id"]
        assert "Idempotent-Replayed" not in first
        assert second["Idempotent-Replayed"] == "true"
        assert RefreshRun.objects.count() == 1

    def test_the_same_key_with_another_body_is_a_409_conflict(self, api, collection):
        api.post(url(collection), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
        response = api.post(
            url(collection), {"dry_run": True}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
        )
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_key_reused"
        assert RefreshRun.objects.count() == 1

    def test_keys_belong_to_their_user(self, api, staff_api, collection):
        api.post(url(collection), {}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
        staff_api.post(url(collection), {}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
        assert RefreshRun.objects.count() == 2


class TestRollback:
    def test_rollback_restores_old_values_once(self, api, collection):
        run_id = api.post(url(collection)).json()["run_id"]
        pdf = Artifact.objects.get(name="pdf")
        assert pdf.license == "MIT"
        response = api.post(f"/api/v1/refresh-runs/{run_id}/rollback")
        assert response.status_code == 200
        body = response.json()
        assert body["restored"] == 10 and body["left"] == 0
        pdf.refresh_from_db()
        assert (pdf.license, pdf.description, pdf.topics) == ("", "", [])
        again = api.post(f"/api/v1/refresh-runs/{run_id}/rollback")
        assert again.status_code == 409
        assert again.json()["code"] == "rollback_refused"
        assert api.get(f"/api/v1/refresh-runs/{run_id}").json()["rolled_back_at"]

    def test_fields_changed_since_the_run_are_left_and_reported(self, api, collection):
        run_id = api.post(url(collection)).json()["run_id"]
        Artifact.objects.filter(name="pdf").update(license="GPL-3.0")
        body = api.post(f"/api/v1/refresh-runs/{run_id}/rollback/").json()
        pdf = next(a for a in body["artifacts"] if a["artifact"] == "skill:pdf")
        assert pdf["left"] == {"license": "changed since the run"}
        assert "description" in pdf["restored"]
        assert Artifact.objects.get(name="pdf").license == "GPL-3.0"

    @pytest.mark.parametrize("payload", [{"dry_run": True}, {"mode": "check_only"}])
    def test_dry_runs_and_checks_cannot_be_rolled_back(self, api, collection, payload):
        run_id = api.post(url(collection), payload, format="json").json()["run_id"]
        response = api.post(f"/api/v1/refresh-runs/{run_id}/rollback")
        assert response.status_code == 409
        assert response.json()["code"] == "rollback_refused"

    def test_another_users_run_is_404(self, api, other_api, collection):
        run_id = api.post(url(collection)).json()["run_id"]
        assert other_api.get(f"/api/v1/refresh-runs/{run_id}/").status_code == 404
        assert other_api.post(f"/api/v1/refresh-runs/{run_id}/rollback").status_code == 404


def test_update_available_filter_on_artifacts(api, collection, github):
    api.post(url(collection), {"mode": "sync"}, format="json")
    github.commit("acme/skills", files={"skills/pdf/extra.md": "new"})
    api.post(url(collection), {"mode": "check_only"}, format="json")
    updates = api.get("/api/v1/artifacts/?update_available=true").json()["results"]
    assert [a["name"] for a in updates] == ["pdf"]
    current = api.get("/api/v1/artifacts/?update_available=false").json()["results"]
    assert [a["name"] for a in current] == ["changelog"]
    api.post(url(collection), {"mode": "sync"}, format="json")
    assert api.get("/api/v1/artifacts/?update_available=true").json()["count"] == 0


def test_the_browsable_api_form_posts_a_refresh(client, user, collection):
    client.force_login(user)
    page = client.get(url(collection, "/"), HTTP_ACCEPT="text/html")
    assert b'name="mode"' in page.content and b'name="dry_run"' in page.content
    response = client.post(url(collection, "/"), {"mode": "check_only", "dry_run": "on"})
    assert response.status_code == 200
    assert response.json()["mode"] == "check_only" and response.json()["dry_run"] is True


def test_an_unexpected_failure_is_a_500_that_leaks_nothing(api, collection, monkeypatch):
    from refresher import engine

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/app")

    monkeypatch.setattr(engine, "evaluate", explode)
    # The error is also reported to Django's got_request_exception, which the test client
    # re-raises by default; here the answer a real client gets is the point.
    api.raise_request_exception = False
    response = api.post(url(collection))
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert "secret" not in response.content.decode()
    assert body["request_id"] == response["X-Request-ID"]
    # The failed run does not keep the collection busy.
    run = RefreshRun.objects.get()
    assert (run.status, run.error_code) == ("failed", "internal_error")
    monkeypatch.undo()
    assert api.post(url(collection)).status_code == 200


def test_the_token_never_appears_in_answers_or_run_records(api, collection, github, settings):
    settings.REFRESH_MAX_RETRIES = 0
    github.fail(r"/git/blobs/", status=403, message="Resource not accessible by token")
    ArtifactFactory(collection=collection, name="ghost", source="acme/skills/skills/ghost")
    response = api.post(url(collection))
    assert response.status_code == 200
    codes = {e["error"]["code"] for e in response.json()["entries"]}
    assert codes == {"upstream_forbidden", "upstream_not_found"}
    run = RefreshRun.objects.get(pk=response.json()["run_id"])
    recorded = str(list(run.entries.values())) + str(RefreshRun.objects.filter(pk=run.pk).values())
    assert github.token not in response.content.decode()
    assert github.token not in recorded
    assert all(r.authorized for r in github.requests)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"dryrun": "on"}, "dryrun"),
        ({"artifact_filter.tpye": "command"}, "artifact_filter"),
    ],
)
def test_a_typo_in_a_form_body_is_400_not_a_wider_refresh(api, collection, payload, field):
    response = api.post(url(collection), payload)  # multipart, like an HTML form
    assert response.status_code == 400
    assert field in response.json()["details"]
    assert not RefreshRun.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"artifact_filter": {"ids": []}}, "artifact_filter"),
        ({"fields": [""]}, "fields"),
        ({"fields": ["  "]}, "fields"),
    ],
)
def test_empty_selections_are_400_not_everything(api, collection, payload, field):
    response = api.post(url(collection), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["details"]


def test_an_invalid_update_available_filter_is_400(api, collection):
    response = api.get("/api/v1/artifacts/?update_available=maybe")
    assert response.status_code == 400
    assert "update_available" in response.json()["details"]


def test_an_idempotency_key_reused_on_another_collection_is_a_409(api, user, collection):
    other = CollectionFactory(owner=user)
    first = api.post(url(collection), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    second = api.post(url(other), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-9")
    assert first.status_code == 200
    assert second.status_code == 409
    assert not RefreshRun.objects.filter(collection=other).exists()
