"""The refresh runs admin: read-only run pages with their entries, and rolling back."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from collections_app.models import Artifact
from refresher.models import HttpCacheEntry, Mode, RefreshRun
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from tests.factories import CollectionFactory

pytestmark = pytest.mark.django_db

RUNS = reverse("admin:refresher_refreshrun_changelist")


def run_page(run: RefreshRun) -> str:
    return reverse("admin:refresher_refreshrun_change", args=[run.pk])


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def applied_run(collection, operator) -> RefreshRun:
    return refresh_now(collection, RefreshOptions(), user=operator)


def test_run_page_lists_every_entry_with_its_field_diffs(admin_ui, collection, applied_run):
    response = admin_ui.get(run_page(applied_run))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Entries (2)" in page
    assert "skill:pdf" in page and "skill:changelog" in page
    assert "Our own words about PDFs" in page  # old value
    assert "Work with PDF files: pull out text and tables" in page  # new value
    assert "Release Tools Team" in page
    # Each entry links to its artifact; each written field says so.
    pdf = Artifact.objects.get(name="pdf")
    assert reverse("admin:collections_app_artifact_change", args=[pdf.pk]) in page
    assert 'alt="yes"' in page
    assert "Refresh metadata of “Team skills”" in page  # breadcrumbs and title name the run
    # Read-only: no save buttons.
    assert 'name="_save"' not in page


def test_dry_run_page_shows_nothing_was_written(admin_ui, collection, operator):
    run = refresh_now(collection, RefreshOptions(dry_run=True), user=operator)

    page = admin_ui.get(run_page(run)).content.decode()

    assert "(dry run)" in page
    assert 'alt="yes"' not in page and 'alt="no"' in page
    assert "dry_run" in page  # the entries' reason
    assert "No: a dry run changed nothing." in page


def test_run_list_filters_and_columns(admin_ui, collection, applied_run, operator):
    CollectionFactory(name="Other skills")  # a collection filter needs two to choose from
    refresh_now(collection, RefreshOptions(mode=Mode.CHECK_ONLY, dry_run=True), user=operator)

    page = admin_ui.get(RUNS).content.decode()
    assert "Team skills" in page
    assert '<td class="field-outcome_short">2 refreshed</td>' in page
    assert '<td class="field-outcome_short">2 unchanged</td>' in page  # the check
    assert "operator" in page
    for parameter in ("status__exact", "mode__exact", "dry_run__exact", "collection__id__exact"):
        assert parameter in page

    filtered = admin_ui.get(RUNS, {"mode__exact": "check_only"}).content.decode()
    assert "1 refresh run" in filtered
    assert "Check for updates" in filtered


def test_runs_cannot_be_added_edited_or_deleted(admin_ui, applied_run):
    assert admin_ui.get(reverse("admin:refresher_refreshrun_add")).status_code == 403
    response = admin_ui.post(run_page(applied_run), {"status": "failed"})
    assert response.status_code == 403
    delete = reverse("admin:refresher_refreshrun_delete", args=[applied_run.pk])
    assert admin_ui.get(delete).status_code == 403
    assert 'value="delete_selected"' not in admin_ui.get(RUNS).content.decode()


def test_roll_back_restores_and_a_second_roll_back_is_an_error(admin_ui, collection, applied_run):
    pdf = Artifact.objects.get(name="pdf")
    assert pdf.description != "Our own words about PDFs"
    data = {"action": "roll_back", "_selected_action": [str(applied_run.pk)]}

    response = admin_ui.post(RUNS, data)

    assert response.status_code == 302
    [(level, text)] = messages_of(response)
    assert level == "success"
    assert "Rolled back: 10 fields restored." in text  # five fields on each of two skills
    pdf.refresh_from_db()
    assert pdf.description == "Our own words about PDFs"
    assert pdf.license == ""
    applied_run.refresh_from_db()
    assert applied_run.rolled_back_at is not None
    admin_ui.get(response.url)  # shows, and so uses up, the message

    again = admin_ui.post(RUNS, data)

    [(level, text)] = messages_of(again)
    assert level == "error"
    assert "already rolled back" in text


def test_roll_back_from_the_run_page_reports_fields_edited_since(admin_ui, applied_run):
    Artifact.objects.filter(name="pdf").update(license="BSD-3-Clause")

    response = admin_ui.post(
        run_page(applied_run),
        {"CHANGE_FORM-action": "roll_back", "_selected_action": [str(applied_run.pk)]},
    )

    assert response.status_code == 302
    [(level, text)] = messages_of(response)
    assert level == "success"
    assert "1 left as they were because they changed since the run: skill:pdf (license)" in text
    assert Artifact.objects.get(name="pdf").license == "BSD-3-Clause"
    page = admin_ui.get(run_page(applied_run)).content.decode()
    assert "Already rolled back" in page
    assert "license (changed since the run)" in page


def test_a_dry_run_cannot_be_rolled_back(admin_ui, collection, operator):
    run = refresh_now(collection, RefreshOptions(dry_run=True), user=operator)

    response = admin_ui.post(RUNS, {"action": "roll_back", "_selected_action": [str(run.pk)]})

    [(level, text)] = messages_of(response)
    assert level == "error"
    assert "nothing to roll back" in text


def test_roll_back_needs_the_right_to_change_artifacts(admin_ui, operator, applied_run):
    operator.user_permissions.remove(*operator.user_permissions.filter(codename="change_artifact"))

    page = admin_ui.get(RUNS).content.decode()
    assert 'value="roll_back"' not in page
    admin_ui.post(RUNS, {"action": "roll_back", "_selected_action": [str(applied_run.pk)]})
    applied_run.refresh_from_db()
    assert applied_run.rolled_back_at is None


def test_http_cache_is_listed_read_only(admin_ui, applied_run):
    key = HttpCacheEntry.objects.order_by("key").values_list("key", flat=True).first()
    assert key

    changelist = reverse("admin:refresher_httpcacheentry_changelist")
    page = admin_ui.get(changelist).content.decode()
    assert key in page
    assert admin_ui.get(reverse("admin:refresher_httpcacheentry_add")).status_code == 403
    entry = HttpCacheEntry.objects.get(key=key)
    detail = admin_ui.get(reverse("admin:refresher_httpcacheentry_change", args=[entry.pk]))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
