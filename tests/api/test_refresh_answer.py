"""A run's entries are answered from plain rows (RefreshEntryListSerializer), field for field
what RefreshEntrySerializer's declared fields would answer, to the byte."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from collections_app.refresh_serializers import RefreshEntrySerializer, RefreshResponseSerializer
from refresher.models import EntryStatus, RefreshEntry, RefreshRun, RunStatus
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import add_skills_repo

pytestmark = pytest.mark.django_db


class FieldByFieldEntrySerializer(RefreshEntrySerializer):
    """The entry as DRF builds it from the declared fields, one field object per value."""

    class Meta(RefreshEntrySerializer.Meta):
        list_serializer_class = serializers.ListSerializer

    def to_representation(self, instance):
        return serializers.ModelSerializer.to_representation(self, instance)


class FieldByFieldResponseSerializer(RefreshResponseSerializer):
    entries = FieldByFieldEntrySerializer(many=True)


def odd_entries(run: RefreshRun, artifact) -> list[RefreshEntry]:
    """Entries of every shape a run records, and a few a run never writes but could read."""
    content = {"text": "# Ünïcode ‮ text\n", "content_sha": "a" * 40, "resolved_sha": "b" * 40}
    return [
        RefreshEntry(
            run=run,
            artifact=artifact,
            artifact_key="skill:a-refreshed",
            status=EntryStatus.REFRESHED,
            changes={
                "description": {"old": "", "new": "New words", "applied": True},
                "topics": {"old": [], "new": ["pdf", "tools"], "applied": False},
                "content": {"old": content, "new": {**content, "text": "x"}, "applied": True},
            },
            applied=True,
            current_sha="c" * 40,
            upstream_sha="d" * 40,
            upstream_content_sha="e" * 40,
            update_available=True,
            duration_ms=1234,
        ),
        RefreshEntry(
            run=run,
            artifact=None,  # deleted since
            artifact_key="skill:b-gone",
            status=EntryStatus.ERROR,
            error_code="modified_during_refresh",
            error_message="the artifact was deleted while it was being refreshed",
            changes={"license": {"new": "MIT", "applied": False}, "title": None},
            update_available=None,
        ),
        RefreshEntry(
            run=run,
            artifact=artifact,
            artifact_key="skill:c-skipped",
            status=EntryStatus.SKIPPED,
            reason="repository_renamed",
            details={"renamed_to": "acme/new-name", "n": 1.5, "deep": [{"x": None}]},
            update_available=False,
        ),
        RefreshEntry(
            run=run, artifact=artifact, artifact_key="skill:d-quiet", status=EntryStatus.UNCHANGED
        ),
    ]


@pytest.fixture
def run_with_odd_entries(user):
    collection = CollectionFactory(owner=user)
    artifact = ArtifactFactory(collection=collection)
    run = RefreshRun.objects.create(
        collection=collection, status=RunStatus.COMPLETED, request_id="req-1"
    )
    RefreshEntry.objects.bulk_create(odd_entries(run, artifact))
    return run


def test_entries_from_rows_equal_the_field_by_field_answer(run_with_odd_entries):
    run = run_with_odd_entries
    expected = FieldByFieldEntrySerializer(run.entries.all(), many=True).data

    from_rows = RefreshEntrySerializer(run.entries, many=True).data  # a manager: plain rows
    from_models = RefreshEntrySerializer(list(run.entries.all()), many=True).data

    assert from_rows == expected
    assert from_models == expected
    rendered = JSONRenderer().render(expected)
    assert JSONRenderer().render(from_rows) == rendered
    assert JSONRenderer().render(from_models) == rendered
    # Keys in the declared order, as the field-by-field answer has them.
    assert list(from_rows[0]) == list(expected[0])
    assert list(from_rows[0]["changes"]["description"]) == ["old", "new", "applied"]


def test_a_run_is_answered_byte_for_byte_as_field_by_field(api, run_with_odd_entries):
    run = run_with_odd_entries

    response = api.get(f"/api/v1/refresh-runs/{run.pk}/")

    assert response.status_code == 200
    expected = FieldByFieldResponseSerializer(RefreshRun.objects.get(pk=run.pk)).data
    assert response.content == JSONRenderer().render(expected)


@pytest.mark.parametrize("mode", ["metadata_only", "sync"])
def test_a_refresh_answer_is_the_field_by_field_answer(api, user, github, mode):
    add_skills_repo(github)
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    ArtifactFactory(collection=collection, name="gone", source="acme/skills/skills/missing")
    ArtifactFactory(collection=collection, name="local", source="./skills/local")

    response = api.post(f"/api/v1/collections/{collection.pk}/refresh", {"mode": mode}, "json")

    assert response.status_code == 200, response.content
    run = RefreshRun.objects.get(pk=response.json()["run_id"])
    assert {e["status"] for e in response.json()["entries"]} == {"refreshed", "error", "skipped"}
    expected = FieldByFieldResponseSerializer(run).data
    assert response.content == JSONRenderer().render(expected)


def test_reading_a_run_takes_the_same_queries_for_3_and_300_entries(api, user):
    collection = CollectionFactory(owner=user)
    counts = []
    for n in (3, 300):
        run = RefreshRun.objects.create(collection=collection, status=RunStatus.COMPLETED)
        RefreshEntry.objects.bulk_create(
            RefreshEntry(run=run, artifact_key=f"skill:{i}", status=EntryStatus.UNCHANGED)
            for i in range(n)
        )
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"/api/v1/refresh-runs/{run.pk}/")
        assert response.status_code == 200 and len(response.json()["entries"]) == n
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_an_unknown_run_is_still_404(api):
    assert api.get(f"/api/v1/refresh-runs/{uuid.uuid4()}/").status_code == 404
