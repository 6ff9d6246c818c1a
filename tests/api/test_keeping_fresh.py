"""Collection settings of SPEC 13 in the API and admin, and the trigger of every run."""

import pytest
from django.core.management import call_command

from collections_app.models import Collection
from refresher.models import RefreshRun, Trigger
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import add_skills_repo

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user, name="Team")


def url(collection) -> str:
    return f"/api/v1/collections/{collection.pk}/"


def test_defaults(api, collection):
    body = api.get(url(collection)).json()
    assert body["auto_refresh_mode"] == "check_only"
    assert body["refresh_schedule"] == ""
    assert body["next_refresh_at"] is None
    assert body["refresh_on_push"] is False
    assert body["notify_url"] == ""
    assert body["notify_secret_set"] is False
    assert "notify_secret" not in body


def test_settings_are_written_and_the_next_refresh_is_computed(api, collection, settings):
    settings.NOTIFY_ALLOW_PRIVATE = True
    response = api.patch(
        url(collection),
        {
            "auto_refresh_mode": "sync",
            "refresh_schedule": " 0  6 * * 1-5 ",
            "refresh_on_push": True,
            "notify_url": "http://127.0.0.1:9/hook",
            "notify_secret": "s3cret",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["refresh_schedule"] == "0 6 * * 1-5"
    assert body["next_refresh_at"].endswith("T06:00:00Z")
    assert body["notify_secret_set"] is True
    assert "notify_secret" not in body
    collection.refresh_from_db()
    assert collection.notify_secret == "s3cret"
    assert collection.auto_refresh_mode == "sync"
    # Other edits keep the secret; an empty string removes it.
    api.patch(url(collection), {"description": "x"}, format="json")
    collection.refresh_from_db()
    assert collection.notify_secret == "s3cret"
    api.patch(url(collection), {"notify_secret": ""}, format="json")
    collection.refresh_from_db()
    assert collection.notify_secret == ""


def test_next_refresh_at_is_read_only(api, collection):
    response = api.patch(
        url(collection), {"next_refresh_at": "2030-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["next_refresh_at"] is None


@pytest.mark.parametrize(
    "schedule", ["*/5 * * * *", "*/10 4 * * *", "61 * * * *", "@yearly", "0 0 * * * *", "soon"]
)
def test_a_bad_or_too_frequent_schedule_is_a_400_naming_the_field(api, collection, schedule):
    response = api.patch(url(collection), {"refresh_schedule": schedule}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request"
    assert list(body["details"]) == ["refresh_schedule"]
    collection.refresh_from_db()
    assert collection.refresh_schedule == ""


def test_the_minimum_period_follows_the_setting(api, collection, settings):
    settings.REFRESH_SCHEDULE_MIN_MINUTES = 60
    bad = api.patch(url(collection), {"refresh_schedule": "*/30 * * * *"}, format="json")
    assert bad.status_code == 400
    assert "60 minutes" in bad.json()["details"]["refresh_schedule"][0]
    ok = api.patch(url(collection), {"refresh_schedule": "@hourly"}, format="json")
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "notify_url",
    [
        "http://hooks.example.org/x",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/",
        "https://[::1]/",
        "https://localhost/",
        "ftp://8.8.8.8/",
    ],
)
def test_a_notify_url_that_is_not_https_or_not_public_is_a_400(api, collection, notify_url):
    response = api.patch(url(collection), {"notify_url": notify_url}, format="json")
    assert response.status_code == 400
    assert list(response.json()["details"]) == ["notify_url"]


def test_an_unknown_auto_refresh_mode_is_a_400(api, collection):
    response = api.patch(url(collection), {"auto_refresh_mode": "dry"}, format="json")
    assert response.status_code == 400
    assert "auto_refresh_mode" in response.json()["details"]


# Triggers --------------------------------------------------------------------------------------


@pytest.fixture
def upstream_collection(github, user):
    add_skills_repo(github)
    collection = CollectionFactory(owner=user, name="Upstream")
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    return collection


def test_every_door_records_its_trigger_and_runs_filter_by_it(
    api, user, upstream_collection, admin_client
):
    cid = upstream_collection.pk
    api_run = api.post(f"/api/v1/collections/{cid}/refresh").json()
    assert api_run["trigger"] == "api"

    call_command("refresh_collection", str(cid), "--json", verbosity=0)
    admin_client.post(
        "/admin/collections_app/collection/",
        {"action": "refresh_metadata", "_selected_action": [str(cid)], "apply": "1"},
    )
    triggers = sorted(RefreshRun.objects.values_list("trigger", flat=True))
    assert triggers == [Trigger.ADMIN, Trigger.API, Trigger.COMMAND]

    for trigger in ("api", "admin", "command"):
        listed = api.get(f"/api/v1/refresh-runs/?trigger={trigger}").json()
        assert [r["trigger"] for r in listed["results"]] == [trigger]
    assert api.get("/api/v1/refresh-runs/?trigger=schedule").json()["count"] == 0
    bad = api.get("/api/v1/refresh-runs/?trigger=cron")
    assert bad.status_code == 400


def test_the_admin_edits_the_settings_and_keeps_the_secret_write_only(admin_client, collection):
    Collection.objects.filter(pk=collection.pk).update(notify_secret="old-secret")
    page = admin_client.get(f"/admin/collections_app/collection/{collection.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "refresh_schedule" in html and "old-secret" not in html
    form = {
        "owner": collection.owner_id,
        "name": collection.name,
        "description": "",
        "auto_refresh_mode": "metadata_only",
        "refresh_schedule": "@daily",
        "refresh_on_push": "on",
        "notify_url": "",
        "notify_secret": "",
        "credential_links-TOTAL_FORMS": "0",
        "credential_links-INITIAL_FORMS": "0",
        "artifacts-TOTAL_FORMS": "0",
        "artifacts-INITIAL_FORMS": "0",
    }
    saved = admin_client.post(f"/admin/collections_app/collection/{collection.pk}/change/", form)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    collection.refresh_from_db()
    assert collection.refresh_schedule == "@daily"
    assert collection.next_refresh_at is not None
    assert collection.notify_secret == "old-secret"  # blank keeps it

    bad = admin_client.post(
        f"/admin/collections_app/collection/{collection.pk}/change/",
        {**form, "refresh_schedule": "* * * * *"},
    )
    assert bad.status_code == 200
    assert "shortest period" in bad.content.decode()


@pytest.mark.parametrize("secret", [12345, True, ["s"], {"k": "v"}])
def test_a_notify_secret_that_is_not_a_string_is_a_400_and_nothing_is_stored(
    api, collection, secret
):
    response = api.patch(url(collection), {"notify_secret": secret}, format="json")

    assert response.status_code == 400
    assert list(response.json()["details"]) == ["notify_secret"]
    collection.refresh_from_db()
    assert collection.notify_secret == ""


@pytest.mark.parametrize("flag", [0, 1, "true", None])
def test_refresh_on_push_takes_only_json_booleans(api, collection, flag):
    response = api.patch(url(collection), {"refresh_on_push": flag}, format="json")

    assert response.status_code == 400
    assert list(response.json()["details"]) == ["refresh_on_push"]
    collection.refresh_from_db()
    assert collection.refresh_on_push is False
