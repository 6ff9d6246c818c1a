"""The admin shows what an imported collection.toml stored, and does not let it be edited."""

import pytest

from collections_app.manifest.importer import import_manifest
from collections_app.models import Artifact, Collection
from tests.manifest.conftest import fixture_text

pytestmark = pytest.mark.django_db


def test_artifact_page_shows_the_manifest_fields_read_only(admin_ui, operator):
    import_manifest(fixture_text("full.toml"), owner=operator)
    pdf = Artifact.objects.get(name="pdf-tools")
    page = admin_ui.get(f"/admin/collections_app/artifact/{pdf.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Manifest (collection.toml)" in text
    assert "0b8f6a52-3c1d-4e7f-9a2b-6c5d4e3f2a10" in text
    assert "pinned_by" in text
    # Read-only: no input carries these fields.
    assert 'name="manifest_uuid"' not in text and 'name="version_spec"' not in text


def test_collection_page_shows_the_manifest_version(admin_ui, operator):
    import_manifest(fixture_text("full.toml"), owner=operator)
    collection = Collection.objects.get()
    page = admin_ui.get(f"/admin/collections_app/collection/{collection.pk}/change/")
    assert page.status_code == 200
    assert "1.2.0" in page.content.decode()
    assert 'name="version"' not in page.content.decode()
