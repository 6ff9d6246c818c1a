"""The collection admin's "Add from repository" page: preview (a dry run), then Add."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from collections_app.models import Artifact
from refresher.models import RefreshRun
from tests.discovery import add_kit_repo
from tests.factories import CollectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kit_collection(user, github):
    add_kit_repo(github)
    return CollectionFactory(owner=user, name="Kit")


def url_of(collection) -> str:
    return reverse("admin:collections_app_collection_discover", args=[collection.pk])


def test_the_collection_page_links_to_the_discover_page(admin_ui, kit_collection):
    page = admin_ui.get(
        reverse("admin:collections_app_collection_change", args=[kit_collection.pk])
    ).content.decode()
    assert url_of(kit_collection) in page and "Add from repository" in page


def test_preview_lists_what_would_be_added_and_adds_nothing(admin_ui, kit_collection):
    r = admin_ui.post(url_of(kit_collection), {"source": "acme/claude-kit", "preview": "1"})
    assert r.status_code == 200
    page = r.content.decode()
    assert "pdf-tools" in page and "release-manager" in page and "security-guard" in page
    assert "external_source" in page and "duplicate_name" in page
    assert 'name="apply"' in page  # the Add button
    assert not Artifact.objects.exists()


def test_add_adds_syncs_and_reports(admin_ui, kit_collection):
    r = admin_ui.post(
        url_of(kit_collection),
        {"source": "acme/claude-kit/skills", "types": ["skill"], "refresh": "on", "apply": "1"},
    )
    assert r.status_code == 302
    assert r["Location"] == reverse(
        "admin:collections_app_collection_change", args=[kit_collection.pk]
    )
    assert set(Artifact.objects.values_list("name", flat=True)) == {"pdf-tools", "changelog"}
    run = RefreshRun.objects.get()
    assert run.mode == "sync" and run.total == 2
    texts = [str(m) for m in get_messages(r.wsgi_request)]
    assert any("Added 2 artifacts" in t for t in texts)
    assert any("skills/broken (invalid_metadata)" in t for t in texts)


def test_an_invalid_source_is_a_form_error(admin_ui, kit_collection):
    r = admin_ui.post(url_of(kit_collection), {"source": "acme/../etc", "preview": "1"})
    assert r.status_code == 200
    assert r.context["form"].errors["source"]
    assert not Artifact.objects.exists()


def test_a_user_without_change_permission_is_refused(client, kit_collection):
    from tests.admin.conftest import grant
    from tests.factories import UserFactory

    viewer = UserFactory(username="viewer", is_staff=True)
    grant(viewer, "collections_app.view_collection")
    client.force_login(viewer)
    r = client.post(url_of(kit_collection), {"source": "acme/claude-kit", "apply": "1"})
    assert r.status_code == 403
    assert not Artifact.objects.exists()
