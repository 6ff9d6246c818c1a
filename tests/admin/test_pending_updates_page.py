"""The admin's "Pending updates" page: what it shows, escaping, permissions, rejecting.

Approving through it is covered with real runs in tests/refresher/test_review_flow.py.
"""

import pytest
from django.test import Client

from refresher.models import PendingUpdate, ProposalState
from tests.admin.conftest import grant
from tests.factories import ArtifactFactory, CollectionFactory, PendingUpdateFactory, UserFactory

pytestmark = pytest.mark.django_db

HOSTILE_DIFF = (
    "--- a/skills/pdf/SKILL.md\n+++ b/skills/pdf/SKILL.md\n@@ -1,2 +1,2 @@\n"
    " keep\n-<b>old</b>\n+<script>alert(1)</script> run\u202e now\u200b\n"
)


@pytest.fixture
def team(user):
    collection = CollectionFactory(owner=user, name="Team")
    PendingUpdateFactory(
        artifact=ArtifactFactory(collection=collection, name="pdf"),
        diff=HOSTILE_DIFF,
        commits=[
            {
                "sha": "e" * 40,
                "message": "Tweak <i>docs</i>",
                "author": "Mallory",
                "date": "2026-01-02T03:04:05Z",
            }
        ],
        files=[{"path": "skills/pdf/scripts/x.sh", "status": "added"}],
        findings=[
            {
                "code": "hidden_unicode",
                "severity": "high",
                "path": "skills/pdf/SKILL.md",
                "line": 2,
                "message": "Hidden characters: U+202E",
            },
        ],
    )
    PendingUpdateFactory(artifact=ArtifactFactory(collection=collection, name="quiet"))
    return collection


def page_url(collection) -> str:
    return f"/admin/collections_app/collection/{collection.pk}/updates/"


def test_the_collection_page_links_to_its_pending_updates(admin_ui, team):
    html = admin_ui.get(f"/admin/collections_app/collection/{team.pk}/change/").content.decode()
    assert f'href="{page_url(team)}"' in html


def test_the_page_shows_diff_commits_files_and_findings_escaped(admin_ui, team):
    response = admin_ui.get(page_url(team))
    assert response.status_code == 200
    html = response.content.decode()
    assert "skill:pdf" in html and "skill:quiet" in html
    assert (
        "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    )
    assert "Tweak &lt;i&gt;docs&lt;/i&gt;" in html and "Mallory" in html
    assert "added: skills/pdf/scripts/x.sh" in html
    assert "hidden_unicode" in html and "severity-high" in html
    # Styled lines; invisible characters shown as markers instead of passing through unseen.
    assert '<span class="diff-add">' in html and '<span class="diff-del">' in html
    assert '<mark class="hidden-char" title="invisible character">U+202E</mark>' in html
    assert '<mark class="hidden-char" title="invisible character">U+200B</mark>' in html
    assert "\u202e" not in html and "\u200b" not in html
    assert 'name="csrfmiddlewaretoken"' in html and 'value="reject_all"' in html


def test_rejecting_one_through_the_page_needs_csrf_and_keeps_the_other(team, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    pdf = PendingUpdate.objects.get(artifact__name="pdf")
    forged = client.post(page_url(team), {"review_action": "reject", "artifact": [str(pdf.pk)]})
    assert forged.status_code == 403
    assert pdf.__class__.objects.get(pk=pdf.pk).state == ProposalState.PENDING

    page = client.get(page_url(team))
    token = page.cookies["csrftoken"].value
    done = client.post(
        page_url(team),
        {"review_action": "reject", "artifact": [str(pdf.pk)], "csrfmiddlewaretoken": token},
    )
    assert done.status_code == 302
    states = dict(PendingUpdate.objects.values_list("artifact__name", "state"))
    assert states == {"pdf": "rejected", "quiet": "pending"}
    shown = client.get(page_url(team)).content.decode()
    assert "Rejected 1 update(s): skill:pdf." in shown and "skill:pdf</" not in shown


def test_reject_all_and_an_empty_choice_give_messages(admin_ui, team):
    empty = admin_ui.post(page_url(team), {"review_action": "reject"}, follow=True)
    assert "Select the updates first" in empty.content.decode()
    odd = admin_ui.post(page_url(team), {"review_action": "reject", "artifact": ["x"]}, follow=True)
    assert "does not exist" in odd.content.decode()
    admin_ui.post(page_url(team), {"review_action": "reject_all"})
    assert set(PendingUpdate.objects.values_list("state", flat=True)) == {"rejected"}
    again = admin_ui.post(page_url(team), {"review_action": "reject_all"}, follow=True)
    assert "No updates of this collection are waiting for review." in again.content.decode()


def test_viewing_needs_view_permission_and_acting_needs_change_permission(team):
    viewer = UserFactory(username="viewer", is_staff=True)
    grant(viewer, "collections_app.view_collection")
    client = Client()
    client.force_login(viewer)
    page = client.get(page_url(team))
    assert page.status_code == 200 and 'value="reject_all"' not in page.content.decode()
    refused = client.post(page_url(team), {"review_action": "reject_all"})
    assert refused.status_code == 403
    assert set(PendingUpdate.objects.values_list("state", flat=True)) == {"pending"}

    stranger = UserFactory(username="stranger", is_staff=True)
    client.force_login(stranger)
    assert client.get(page_url(team)).status_code == 403
