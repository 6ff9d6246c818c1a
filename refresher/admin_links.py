"""How the admin names a run, and where its pages for runs, entries and artifacts live.

A leaf of the admin modules: `refresher.admin` (runs) and `refresher.entry_admin` (entries)
both link through it, and neither imports the other's pages for it.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from refresher.models import RefreshEntry, RefreshRun

# The entry list's query parameter that narrows it to one run (entry_admin.RunFilter).
RUN_PARAMETER = "run"


def run_label(run: RefreshRun) -> str:
    """A run as people name it: "Refresh metadata (dry run) of “Team skills”, 2026-01-02 10:00"."""
    when = timezone.localtime(run.started_at or run.created_at)
    dry = " (dry run)" if run.dry_run else ""
    return f"{run.get_mode_display()}{dry} of “{run.collection}”, {when:%Y-%m-%d %H:%M:%S}"


def run_admin_url(run_id: object) -> str:
    """The admin's page of the run with this id (a UUID, or its text)."""
    return reverse("admin:refresher_refreshrun_change", args=[run_id])


def entry_list_url(run_id: object, **filters: str) -> str:
    """The admin's list of one run's entries (and of `filters`, e.g. a status)."""
    query = {RUN_PARAMETER: str(run_id), **filters}
    return f"{reverse('admin:refresher_refreshentry_changelist')}?{urlencode(query)}"


def artifact_admin_url(entry: RefreshEntry) -> str:
    """The entry's artifact's page, or "" when the artifact was deleted since."""
    if not entry.artifact_id:
        return ""
    return reverse("admin:collections_app_artifact_change", args=[entry.artifact_id])
