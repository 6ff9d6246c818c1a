"""The collection admin's marketplace box (SPEC 15): counts, omitted artifacts, share links made
and revoked with the change permission and a CSRF token."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from collections_app.marketplace.links import token_hash
from collections_app.models import ShareLink
from tests.admin.conftest import grant
from tests.factories import ArtifactFactory, UserFactory

pytestmark = pytest.mark.django_db


def page_of(collection) -> str:
    return reverse("admin:collections_app_collection_change", args=[collection.pk])


def create_url(collection) -> str:
    return reverse("admin:collections_app_collection_share_link_create", args=[collection.pk])


def revoke_url(link) -> str:
    return reverse(
        "admin:collections_app_collection_share_link_revoke", args=[link.collection_id, link.pk]
    )


def staff(*permissions: str, name: str = "editor") -> Client:
    user = UserFactory(username=name, is_staff=True)
    grant(user, *permissions)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def editor() -> Client:
    return staff("collections_app.view_collection", "collections_app.change_collection")


@pytest.fixture
def viewer() -> Client:
    return staff("collections_app.view_collection", name="viewer")


def test_the_box_counts_plugins_and_omitted_artifacts_per_reason(editor, synced):
    ArtifactFactory(collection=synced, name="notes", source="")
    ArtifactFactory(collection=synced, name="draft-a", source="acme/kit/skills/a")
    ArtifactFactory(collection=synced, name="draft-b", source="acme/kit/skills/b")
    ShareLink.objects.create(collection=synced, label="laptops", token_hash="0" * 64)
    page = editor.get(page_of(synced)).content.decode()
    assert 'id="collection-marketplace"' in page
    assert "Marketplace <code>team-kit</code> offers <strong>5</strong> plugins" in page
    omitted = reverse("admin:collections_app_collection_marketplace_omitted", args=[synced.pk])
    assert f'<a href="{omitted}?reason=not_synced">2</a>' in page
    assert f'<a href="{omitted}?reason=no_upstream">1</a>' in page
    assert "laptops" in page and "Share links (1)" in page
    assert "claude plugin marketplace add" in page
    assert "Make a share link" in page and "Revoke" in page
    assert 'id="share-link-warning"' in page
    assert "hook and MCP configurations" in page and "private repositories" in page


def test_the_omitted_page_lists_the_artifacts_of_a_reason(viewer, synced):
    ArtifactFactory(collection=synced, name="notes", source="")
    ArtifactFactory(collection=synced, name="draft-a", source="acme/kit/skills/a")
    url = reverse("admin:collections_app_collection_marketplace_omitted", args=[synced.pk])
    everything = viewer.get(url).content.decode()
    assert "notes" in everything and "draft-a" in everything
    narrowed = viewer.get(f"{url}?reason=not_synced").content.decode()
    assert "draft-a" in narrowed and "notes" not in narrowed
    assert "1 artifact left out: never synced (or moved to another source since)." in narrowed


def test_making_a_link_shows_its_url_once_with_the_line_to_copy(editor, synced):
    answer = editor.post(create_url(synced), {"share_link_label": "new laptops"})
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"]
    page = answer.content.decode()
    url = re.search(r'value="(http://testserver/m/[^"/]+/marketplace\.json)"', page).group(1)
    assert f'value="claude plugin marketplace add {url}"' in page
    token = url.split("/")[-2]
    link = ShareLink.objects.get()
    assert link.label == "new laptops"
    assert link.token_hash == token_hash(token)
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200
    # The collection page never shows the URL again.
    assert token not in editor.get(page_of(synced)).content.decode()


def test_revoking_a_link_stops_its_url_at_once(editor, synced):
    editor.post(create_url(synced))
    link = ShareLink.objects.get()
    answer = editor.post(revoke_url(link), follow=True)
    assert answer.redirect_chain[-1][0] == page_of(synced)
    assert "was revoked" in answer.content.decode()
    assert not ShareLink.objects.exists()
    again = editor.post(revoke_url(link), follow=True)
    assert "already revoked" in again.content.decode()


def test_viewing_is_not_enough_to_make_or_revoke_links(viewer, synced):
    link = ShareLink.objects.create(collection=synced, token_hash="1" * 64)
    page = viewer.get(page_of(synced)).content.decode()
    assert "Make a share link" not in page and "Revoke" not in page
    assert viewer.post(create_url(synced)).status_code == 403
    assert viewer.post(revoke_url(link)).status_code == 403
    assert ShareLink.objects.count() == 1


def test_share_link_posts_need_a_csrf_token_and_a_post(synced):
    user = UserFactory(username="careful", is_staff=True)
    grant(user, "collections_app.view_collection", "collections_app.change_collection")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(create_url(synced)).status_code == 403
    assert client.get(create_url(synced)).status_code == 405
    assert not ShareLink.objects.exists()
    page = client.get(page_of(synced)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    made = client.post(create_url(synced), {"csrfmiddlewaretoken": csrf})
    assert made.status_code == 200 and ShareLink.objects.count() == 1


def test_a_label_with_invisible_characters_makes_no_link(editor, synced):
    answer = editor.post(create_url(synced), {"share_link_label": "a\u202eb"}, follow=True)
    assert "cannot hold control or invisible characters" in answer.content.decode()
    assert not ShareLink.objects.exists()


def test_the_box_counts_by_the_manifests_own_rule(synced):
    """The box reads fewer columns than the manifest; it must still count as the manifest does."""
    from collections import Counter

    from collections_app.marketplace.rows import marketplace_of, reason_counts
    from collections_app.models import Artifact

    ArtifactFactory(collection=synced, name="notes", source="")
    ArtifactFactory(collection=synced, name="draft", source="acme/kit/skills/draft")
    hook = Artifact.objects.get(collection=synced, type="hook")
    Artifact.objects.filter(pk=hook.pk).update(content='{"hooks": {}}')  # edited since its sync
    marketplace = marketplace_of(synced)
    expected = Counter(o["reason"] for o in marketplace.omitted)
    expected[""] = len(marketplace.manifest["plugins"])
    counts = reason_counts(synced)
    assert counts == expected
    assert counts["modified_locally"] == 1 and counts["not_synced"] == 1
    assert counts["no_upstream"] == 1 and counts[""] >= 4
