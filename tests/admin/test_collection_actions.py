"""The collection admin's refresh actions: a dry-run preview first, then Apply."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from collections_app.models import Artifact
from refresher.models import Mode, RefreshRun, RunStatus
from tests.admin.conftest import grant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:collections_app_collection_changelist")
PDF_DESCRIPTION = "Work with PDF files: pull out text and tables"


def run_action(client: Client, action: str, collection, *, apply: bool = False, **kwargs):
    data = {"action": action, "_selected_action": [str(collection.pk)]}
    if apply:
        data["apply"] = "1"
    return client.post(CHANGELIST, data, **kwargs)


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_preview_shows_old_and_new_values_and_writes_nothing(admin_ui, collection):
    before = {a.name: (a.description, a.license) for a in collection.artifacts.all()}

    response = run_action(admin_ui, "refresh_metadata", collection)

    assert response.status_code == 200
    assert "admin/collections_app/collection/refresh_preview.html" in [
        t.name for t in response.templates
    ]
    page = response.content.decode()
    assert "Refresh metadata: preview" in page
    assert "Our own words about PDFs" in page  # the current value ...
    assert PDF_DESCRIPTION in page  # ... and what upstream would put there
    assert "Release Tools Team" in page  # the changelog skill's author mapping
    # Nothing was written to the artifacts; the dry run is on record.
    after = {a.name: (a.description, a.license) for a in collection.artifacts.all()}
    assert after == before
    run = RefreshRun.objects.get()
    assert run.dry_run and run.mode == Mode.METADATA_ONLY and run.refreshed == 2
    assert reverse("admin:refresher_refreshrun_change", args=[run.pk]) in page
    # The Apply form posts the same action back with the apply flag.
    assert 'name="action" value="refresh_metadata"' in page
    assert 'name="apply" value="1"' in page
    assert f'name="_selected_action" value="{collection.pk}"' in page


def test_preview_marks_locked_fields_as_not_written(admin_ui, collection):
    Artifact.objects.filter(name="pdf").update(locked_fields=["description"])

    response = run_action(admin_ui, "refresh_metadata", collection)

    assert "no (locked)" in response.content.decode()


def test_sync_preview_shows_content_shas_not_the_text(admin_ui, collection, upstream):
    response = run_action(admin_ui, "sync_with_upstream", collection)

    page = response.content.decode()
    entry = RefreshRun.objects.get().entries.get(artifact_key="skill:pdf")
    new = entry.changes["content"]["new"]
    assert f"content {new['content_sha'][:12]} at commit {new['resolved_sha'][:12]}" in page
    assert new["resolved_sha"] == upstream.head("acme/skills")
    assert "pdfplumber" not in page  # a line of the skill's body


def test_apply_writes_and_links_the_run(admin_ui, collection):
    response = run_action(admin_ui, "refresh_metadata", collection, apply=True)

    assert response.status_code == 302
    assert response.url == CHANGELIST
    pdf = collection.artifacts.get(name="pdf")
    assert pdf.description.startswith(PDF_DESCRIPTION)
    assert pdf.license == "MIT"
    run = RefreshRun.objects.get()
    assert not run.dry_run and run.status == RunStatus.COMPLETED
    [(level, text)] = messages_of(response)
    assert level == "success"
    assert "2 refreshed, 0 unchanged, 0 skipped, 0 errors" in text
    assert reverse("admin:refresher_refreshrun_change", args=[run.pk]) in text
    # The link is rendered as a link, not escaped text.
    page = admin_ui.get(response.url).content.decode()
    run_url = reverse("admin:refresher_refreshrun_change", args=[run.pk])
    assert f'<a href="{run_url}">View the run</a>' in page


def test_check_for_updates_writes_nothing_even_when_applied(admin_ui, collection):
    preview = run_action(admin_ui, "check_for_updates", collection).content.decode()
    assert "no (check only)" in preview
    assert "will change" not in preview

    run_action(admin_ui, "check_for_updates", collection, apply=True)

    assert collection.artifacts.get(name="pdf").description == "Our own words about PDFs"
    run = RefreshRun.objects.get(dry_run=False)
    assert run.mode == Mode.CHECK_ONLY


def test_a_busy_collection_gives_an_error_message_not_a_500(admin_ui, collection):
    busy = RefreshRun.objects.create(collection=collection, status=RunStatus.RUNNING)

    for apply in (False, True):
        response = run_action(admin_ui, "refresh_metadata", collection, apply=apply)
        assert response.status_code == 302
        [(level, text)] = messages_of(response)
        assert level == "error"
        assert "already being refreshed" in text
        assert reverse("admin:refresher_refreshrun_change", args=[busy.pk]) in text
        admin_ui.get(response.url)  # shows, and so uses up, the message
    assert RefreshRun.objects.count() == 1


def test_unreachable_github_gives_an_error_message_with_the_failed_run(
    admin_ui, collection, upstream
):
    upstream.fail(r"^/repos/", status=503)

    response = run_action(admin_ui, "refresh_metadata", collection, apply=True)

    assert response.status_code == 302
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert "GitHub could not be read" in text
    failed = RefreshRun.objects.get()
    assert reverse("admin:refresher_refreshrun_change", args=[failed.pk]) in text
    assert collection.artifacts.get(name="pdf").description == "Our own words about PDFs"


def test_view_permission_allows_checks_but_not_writing_refreshes(collection):
    viewer = UserFactory(username="viewer", is_staff=True)
    grant(viewer, "collections_app.view_collection")
    client = Client()
    client.force_login(viewer)

    page = client.get(CHANGELIST).content.decode()
    assert 'value="check_for_updates"' in page
    assert 'value="refresh_metadata"' not in page

    response = run_action(client, "refresh_metadata", collection, apply=True)
    assert response.status_code == 302
    assert RefreshRun.objects.count() == 0
    assert collection.artifacts.get(name="pdf").description == "Our own words about PDFs"


def test_non_staff_cannot_reach_the_admin(user, collection):
    client = Client()
    client.force_login(user)  # the collection's owner, but not staff

    assert client.get(CHANGELIST).status_code == 302
    response = run_action(client, "refresh_metadata", collection, apply=True)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    assert RefreshRun.objects.count() == 0
    run_page = reverse("admin:refresher_refreshrun_changelist")
    assert client.get(run_page).url.startswith(reverse("admin:login"))


def test_several_collections_queue_one_background_run_each_and_link_them(
    admin_ui, collection, user, django_capture_on_commit_callbacks
):
    from tests.factories import ArtifactFactory, CollectionFactory

    second = CollectionFactory(owner=user, name="More skills")
    ArtifactFactory(collection=second, name="pdf", source="acme/skills/skills/pdf")
    data = {"action": "refresh_metadata", "_selected_action": [str(collection.pk), str(second.pk)]}

    with django_capture_on_commit_callbacks(execute=False) as queued_tasks:
        response = admin_ui.post(CHANGELIST, data)

    # Nothing ran inside the request: two runs wait for a worker, one task each.
    assert response.status_code == 302 and response.url == CHANGELIST
    runs = {run.collection_id: run for run in RefreshRun.objects.all()}
    assert set(runs) == {collection.pk, second.pk}
    assert all(run.status == RunStatus.QUEUED and run.background for run in runs.values())
    assert all(not run.dry_run and run.mode == Mode.METADATA_ONLY for run in runs.values())
    assert len(queued_tasks) == 2
    assert collection.artifacts.get(name="pdf").description == "Our own words about PDFs"
    [(level, text)] = messages_of(response)
    assert level == "success"
    assert "queued 2 background runs" in text
    for run in runs.values():
        assert reverse("admin:refresher_refreshrun_change", args=[run.pk]) in text
    assert "“Team skills”" in text and "“More skills”" in text

    # A worker then carries them out (here the suite's immediate task backend).
    for send in queued_tasks:
        send()
    for run in runs.values():
        run.refresh_from_db()
        assert run.status == RunStatus.COMPLETED
    assert collection.artifacts.get(name="pdf").description.startswith(PDF_DESCRIPTION)


def test_several_collections_one_busy_queue_the_others_and_say_why_not_that_one(
    admin_ui, collection, user, django_capture_on_commit_callbacks
):
    from tests.factories import CollectionFactory

    second = CollectionFactory(owner=user, name="More skills")
    busy = RefreshRun.objects.create(collection=second, status=RunStatus.RUNNING)
    data = {"action": "check_for_updates", "_selected_action": [str(collection.pk), str(second.pk)]}

    with django_capture_on_commit_callbacks(execute=False):
        response = admin_ui.post(CHANGELIST, data)

    queued = RefreshRun.objects.get(status=RunStatus.QUEUED)
    assert queued.collection_id == collection.pk and queued.mode == Mode.CHECK_ONLY
    found = dict(messages_of(response))
    assert "already being refreshed" in found["error"]
    assert reverse("admin:refresher_refreshrun_change", args=[busy.pk]) in found["error"]
    assert "queued 1 background run " in found["success"]
