"""The review settings of a collection (SPEC 17) in the API, the admin, the database and the
manifest: they are site settings, never part of collection.toml."""

import tomllib

import pytest
from django.db import IntegrityError, transaction

from collections_app.models import Collection
from refresher.models import MAX_UPDATE_AGE_HOURS
from tests.factories import CollectionFactory
from tests.manifest.conftest import SKILL, manifest

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user, name="Team")


def url(collection) -> str:
    return f"/api/v1/collections/{collection.pk}/"


def test_review_is_off_by_default(api, collection):
    body = api.get(url(collection)).json()
    assert body["review_updates"] is False
    assert body["min_update_age_hours"] == 0
    assert body["block_findings"] == "none"


def test_review_settings_are_written(api, collection):
    response = api.patch(
        url(collection),
        {"review_updates": True, "min_update_age_hours": 72, "block_findings": "medium"},
        format="json",
    )
    assert response.status_code == 200, response.content
    collection.refresh_from_db()
    assert (collection.review_updates, collection.min_update_age_hours) == (True, 72)
    assert collection.block_findings == "medium"
    upper = api.patch(
        url(collection), {"min_update_age_hours": MAX_UPDATE_AGE_HOURS}, format="json"
    )
    assert upper.status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_update_age_hours", -1),
        ("min_update_age_hours", MAX_UPDATE_AGE_HOURS + 1),
        ("min_update_age_hours", "24"),
        ("min_update_age_hours", 1.5),
        ("min_update_age_hours", True),
        ("min_update_age_hours", None),
        ("block_findings", "low"),
        ("block_findings", "HIGH"),
        ("block_findings", 1),
        ("block_findings", None),
        ("review_updates", "true"),
        ("review_updates", 1),
    ],
)
def test_an_invalid_review_setting_is_a_400_and_nothing_is_stored(api, collection, field, value):
    response = api.patch(url(collection), {field: value}, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_request" and list(body["details"]) == [field]
    collection.refresh_from_db()
    assert (collection.review_updates, collection.min_update_age_hours) == (False, 0)
    assert collection.block_findings == "none"


@pytest.mark.parametrize(
    "update", [{"block_findings": "critical"}, {"min_update_age_hours": MAX_UPDATE_AGE_HOURS + 1}]
)
def test_the_database_refuses_values_written_past_validation(collection, update):
    with pytest.raises(IntegrityError), transaction.atomic():
        Collection.objects.filter(pk=collection.pk).update(**update)


def test_the_admin_shows_and_saves_the_review_settings(admin_client, collection):
    change = f"/admin/collections_app/collection/{collection.pk}/change/"
    html = admin_client.get(change).content.decode()
    assert "Reviewing updates" in html and 'name="min_update_age_hours"' in html
    form = {
        "owner": collection.owner_id,
        "name": collection.name,
        "auto_refresh_mode": "check_only",
        "review_updates": "on",
        "min_update_age_hours": "48",
        "block_findings": "high",
        "artifacts-TOTAL_FORMS": "0",
        "artifacts-INITIAL_FORMS": "0",
        "credential_links-TOTAL_FORMS": "0",
        "credential_links-INITIAL_FORMS": "0",
    }
    saved = admin_client.post(change, form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    collection.refresh_from_db()
    assert (collection.review_updates, collection.min_update_age_hours) == (True, 48)
    assert collection.block_findings == "high"

    # A post that leaves the cooldown and threshold out keeps them.
    del form["min_update_age_hours"], form["block_findings"]
    assert admin_client.post(change, form).status_code == 302
    collection.refresh_from_db()
    assert (collection.min_update_age_hours, collection.block_findings) == (48, "high")

    bad = admin_client.post(change, {**form, "min_update_age_hours": "-3"})
    assert bad.status_code == 200
    collection.refresh_from_db()
    assert collection.min_update_age_hours == 48


def test_the_manifest_round_trip_carries_no_review_setting(api):
    text = manifest(
        SKILL, collection='name = "work"\nreview_updates = true\nblock_findings = "high"'
    )
    created = api.post("/api/v1/collections/import", data=text, content_type="application/toml")
    assert created.status_code == 201, created.content
    collection = Collection.objects.get(pk=created.json()["collection_id"])
    # Keys of a manifest are the single-user tool's: unknown ones are carried, not applied.
    assert collection.review_updates is False and collection.block_findings == "none"
    Collection.objects.filter(pk=collection.pk).update(min_update_age_hours=12)

    exported = api.get(f"/api/v1/collections/{collection.pk}/export")
    table = tomllib.loads(exported.content.decode())["collection"]
    assert table["review_updates"] is True and table["block_findings"] == "high"
    assert "min_update_age_hours" not in table
