"""Admin pages for runs' entries: the page of entries a run's page shows, and the entry list.

A run of thousands of artifacts has thousands of entries. Its page shows one page of them and
its counts per status, each linking to the entry list filtered to the run (and status), where
they are paged, filtered and searched.
"""

import uuid
from dataclasses import dataclass

from django.contrib import admin
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from refresher.admin_links import (
    RUN_PARAMETER,
    artifact_admin_url,
    entry_list_url,
    run_admin_url,
    run_label,
)
from refresher.models import EntryStatus, RefreshEntry, RefreshRun
from refresher.report import change_rows

# Entries per page of a run's page, and the page's query parameter.
ENTRIES_PER_PAGE = 50
ENTRIES_PAGE = "entries_page"


@dataclass(frozen=True)
class StatusCount:
    label: str
    count: int
    url: str  # the entry list filtered to the run and this status


def entries_page(run: RefreshRun, request: HttpRequest) -> Page[RefreshEntry]:
    """The page of the run's entries its page shows: a few dozen, whatever the run's size."""
    entries = run.entries.order_by("artifact_key", "id")
    return Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get(ENTRIES_PAGE))


def status_counts(run: RefreshRun) -> list[StatusCount]:
    """The run's recorded counts per status, each a link to those entries (no query)."""
    counts = {
        EntryStatus.REFRESHED: run.refreshed,
        EntryStatus.UNCHANGED: run.unchanged,
        EntryStatus.SKIPPED: run.skipped,
        EntryStatus.ERROR: run.error,
    }
    return [
        StatusCount(status.label, count, entry_list_url(run.pk, status__exact=status.value))
        for status, count in counts.items()
        if count
    ]


class RunFilter(admin.SimpleListFilter):
    """Entries of one run, as the run page's links choose it; it never lists every run."""

    title = "run"
    parameter_name = RUN_PARAMETER

    def lookups(
        self, request: HttpRequest, model_admin: "admin.ModelAdmin[RefreshEntry]"
    ) -> list[tuple[str, str]]:
        # Only the chosen run is a choice (Django leaves out a filter without choices, and
        # with it the filtering: an unknown run must show no entries, not all of them).
        value = self.value()
        if value is None:
            return []
        run_id = _uuid(value)
        run = RefreshRun.objects.select_related("collection").filter(pk=run_id).first()
        return [(value, run_label(run) if run else "a run that does not exist")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[RefreshEntry]
    ) -> QuerySet[RefreshEntry]:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(run_id=_uuid(value))


def _uuid(value: str) -> uuid.UUID:
    """The run id in the query; a malformed one is the nil UUID, which no run has."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.UUID(int=0)


@admin.register(RefreshEntry)
class RefreshEntryAdmin(admin.ModelAdmin):
    """The entries of runs, paged and filtered; read-only like the runs they belong to."""

    list_display = [
        "artifact_key",
        "status",
        "applied",
        "reason",
        "error_code",
        "update_available",
        "run_link",
    ]
    list_filter = [RunFilter, "status", "applied", "update_available"]
    search_fields = ["artifact_key", "error_code", "reason"]
    # Runs of thousands of artifacts make this table large: count only what the filters select.
    show_full_result_count = False
    fields = readonly_fields = (
        "run_link",
        "artifact_link",
        "status",
        "applied",
        "reason",
        "error",
        "update_available",
        "current_sha",
        "upstream_sha",
        "duration_ms",
        "change_table",
        "details",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[RefreshEntry]:
        return super().get_queryset(request).select_related("run__collection")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RefreshEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RefreshEntry | None = None) -> bool:
        return False  # part of its run's record, which nobody deletes here

    def has_view_permission(self, request: HttpRequest, obj: RefreshEntry | None = None) -> bool:
        # An entry is part of its run's record: whoever may read runs may read their entries.
        return request.user.has_perm("refresher.view_refreshrun")

    @admin.display(description="Run", ordering="run__created_at")
    def run_link(self, entry: RefreshEntry) -> SafeString:
        return format_html('<a href="{}">{}</a>', run_admin_url(entry.run_id), run_label(entry.run))

    @admin.display(description="Artifact")
    def artifact_link(self, entry: RefreshEntry) -> SafeString:
        url = artifact_admin_url(entry)
        if not url:
            return format_html("{} (deleted)", entry.artifact_key)
        return format_html('<a href="{}">{}</a>', url, entry.artifact_key)

    @admin.display(description="Error")
    def error(self, entry: RefreshEntry) -> str:
        return f"{entry.error_code}: {entry.error_message}" if entry.error_code else "-"

    @admin.display(description="Changes")
    def change_table(self, entry: RefreshEntry) -> SafeString:
        rows = change_rows(entry.changes)
        html = render_to_string("admin/refresher/includes/changes.html", {"rows": rows})
        return mark_safe(html)
