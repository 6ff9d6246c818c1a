"""What the admin's refresh preview page shows: each collection's dry run, entry by entry."""

from typing import TypedDict

from collections_app.models import Collection
from refresher.models import RefreshEntry, RefreshRun
from refresher.report import ChangeRow


class PreviewEntry(TypedDict):
    entry: RefreshEntry
    rows: list[ChangeRow]  # its changed fields, locked ones marked


class Preview(TypedDict):
    """One collection's dry run, as the page lists it before Apply."""

    collection: Collection
    run: RefreshRun
    run_url: str
    outcome: str
    entries: list[PreviewEntry]  # at most PREVIEW_ENTRIES with something to show
    quiet: int  # entries with nothing to show
    unlisted: int  # entries with something to show, past PREVIEW_ENTRIES
