"""How a run is shown to people: its field changes, counts and sections.

One module for every door that shows a run: the admin's run page and dry-run preview render
`change_rows` in a template; `manage.py refresh_collection` prints a `Report` as plain lines (logs,
pipes) or as rich tables (a terminal). Both read an entry's `changes` the same way: a metadata
field is one row; the content change of a sync is shown by its SHAs, never its text, which can
be any size.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from collections_app.models import Collection
from refresher.changes import ChangeValue, FieldChange
from refresher.evaluate import CONTENT
from refresher.models import EntryStatus, RefreshEntry, RefreshRun

SHA_SHOWN = 12  # enough to be unique in practice, short enough to fit a table cell


@dataclass(frozen=True)
class ChangeRow:
    """One row of an entry's changes: old and new as display text (None: blank, in the admin)."""

    field: str
    old: str | None
    new: str | None
    applied: bool
    locked: bool = False


def display(value: object) -> str | None:
    """A value as the admin shows it: lists joined with commas, blanks as None."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def show(value: object) -> str:
    """A value on one line, quoted, so blanks and whitespace stay visible (the command line)."""
    return json.dumps(value, ensure_ascii=False)


def _content_shas(value: ChangeValue) -> dict[str, str]:
    """The SHAs of a content change's version ("" where it has none)."""
    if not isinstance(value, dict):
        return {"content_sha": "", "resolved_sha": ""}
    return {
        "content_sha": value.get("content_sha") or "",
        "resolved_sha": value.get("resolved_sha") or "",
    }


def _content_summary(value: ChangeValue) -> str | None:
    shas = _content_shas(value)
    # content_sha is a tree SHA for a directory artifact and a blob SHA for a file artifact.
    content = shas["content_sha"][:SHA_SHOWN]
    commit = shas["resolved_sha"][:SHA_SHOWN]
    if not content and not commit:
        return None
    return f"content {content or '?'} at commit {commit or '?'}"


def change_rows(
    changes: dict[str, FieldChange],
    *,
    locked: frozenset[str] = frozenset(),
    render: Callable[[object], str | None] = display,
    content_shas: bool = False,
) -> list[ChangeRow]:
    """An entry's `changes` as rows, values through `render`.

    The sync content change is one "content <sha> at commit <sha>" row, or with `content_shas`
    a `content.content_sha` row and, when the commit moved (it can without the content
    changing), a `content.resolved_sha` row, both in full.
    """
    rows = []
    for name, change in changes.items():
        applied = bool(change.get("applied"))
        if name != CONTENT:
            old, new = render(change.get("old")), render(change.get("new"))
            rows.append(ChangeRow(name, old, new, applied, locked=name in locked))
        elif not content_shas:
            old, new = _content_summary(change.get("old")), _content_summary(change.get("new"))
            rows.append(ChangeRow(name, old, new, applied, locked=name in locked))
        else:
            before, after = _content_shas(change.get("old")), _content_shas(change.get("new"))
            for key in ("content_sha", "resolved_sha"):
                if key == "content_sha" or before[key] != after[key]:
                    old, new = render(before[key] or None), render(after[key] or None)
                    rows.append(ChangeRow(f"{name}.{key}", old, new, applied, name in locked))
    return rows


def outcome_text(run: RefreshRun) -> str:
    """The run's counts in one line, e.g. "3 refreshed, 5 unchanged, 0 skipped, 1 error"."""
    # A dry run's "refreshed" entries are the ones a real run would change.
    refreshed = "would change" if run.dry_run else "refreshed"
    text = (
        f"{run.refreshed} {refreshed}, {run.unchanged} unchanged, {run.skipped} skipped, "
        f"{run.error} error{'s' if run.error != 1 else ''}"
    )
    if run.updates_available:
        text += f", {run.updates_available} with updates available"
    return text


def collection_label(collection: Collection) -> str:
    return f"{collection.owner.get_username()}/{collection.name}"


def sha(value: str) -> str:
    return value or "(none)"


def table_of(title: str, *columns: str, style: str = "") -> Table:
    # "fold" wraps long values onto more lines: a changed value is never cut short.
    table = Table(title=title, title_justify="left", title_style=style or None)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


class Report:
    """The outcome of a run for the command line: summary, changes, updates, skips and errors."""

    def __init__(self, collection: Collection, run: RefreshRun, entries: list[RefreshEntry]):
        self.collection = collection
        self.run = run
        self.entries = entries

    def title(self) -> str:
        mode = f"{self.run.mode}, dry run" if self.run.dry_run else self.run.mode
        return f"Refresh of {collection_label(self.collection)} ({mode})"

    def summary_rows(self) -> list[tuple[str, str]]:
        run = self.run
        return [
            ("total", str(run.total)),
            ("refreshed", str(run.refreshed)),
            ("unchanged", str(run.unchanged)),
            ("skipped", str(run.skipped)),
            ("error", str(run.error)),
            ("updates available", str(run.updates_available)),
            ("status", run.status),
            ("duration", f"{run.duration_ms or 0} ms"),
            ("run id", str(run.pk)),
        ]

    def change_rows(self) -> Iterator[tuple[RefreshEntry, ChangeRow]]:
        """Every changed field of every entry, values in full."""
        for entry in self.entries:
            for row in change_rows(entry.changes, render=show, content_shas=True):
                yield entry, row

    def updates(self) -> list[RefreshEntry]:
        return [e for e in self.entries if e.update_available]

    def skipped(self) -> list[RefreshEntry]:
        return [e for e in self.entries if e.status == EntryStatus.SKIPPED]

    def errors(self) -> list[tuple[str, str, str]]:
        """(artifact, code, message) of every failed entry, and of the run if it failed."""
        rows = [
            (e.artifact_key, e.error_code, e.error_message)
            for e in self.entries
            if e.status == EntryStatus.ERROR
        ]
        if self.run.error_code:
            rows.append(("(run)", self.run.error_code, self.run.error_message))
        return rows

    def error_lines(self) -> Iterator[str]:
        for key, code, message in self.errors():
            yield f"{key}: {code}: {message}"

    def plain_lines(self) -> Iterator[str]:
        yield self.title()
        width = max(len(label) for label, _ in self.summary_rows())
        for label, value in self.summary_rows():
            yield f"  {label.ljust(width)}  {value}"

        current = None
        for entry, row in self.change_rows():
            if current is None:
                yield ""
                yield "Changes"
            if entry is not current:
                reason = f", {entry.reason}" if entry.reason else ""
                yield f"  {entry.artifact_key} ({entry.status}{reason})"
                current = entry
            applied = "" if row.applied else "  (not applied)"
            yield f"    {row.field}: {row.old} -> {row.new}{applied}"

        if updates := self.updates():
            yield ""
            yield "Updates available"
            for e in updates:
                yield f"  {e.artifact_key}: {sha(e.current_sha)} -> {sha(e.upstream_sha)}"
        if skipped := self.skipped():
            yield ""
            yield "Skipped"
            for e in skipped:
                yield f"  {e.artifact_key}: {e.reason or '-'}"
        if self.errors():
            yield ""
            yield "Errors"
            for line in self.error_lines():
                yield f"  {line}"

    def print_rich(self, stream: TextIO, *, color: bool = True) -> None:
        console = Console(file=stream, no_color=not color)
        summary = Table(title=self.title(), show_header=False, title_justify="left")
        summary.add_column(style="bold")
        summary.add_column(overflow="fold")
        for label, value in self.summary_rows():
            summary.add_row(label, Text(value))
        console.print(summary)

        changes = list(self.change_rows())
        if changes:
            table = table_of("Changes", "artifact", "field", "old", "new", "applied")
            for entry, row in changes:
                table.add_row(
                    Text(entry.artifact_key),
                    row.field,
                    Text(row.old or ""),
                    Text(row.new or ""),
                    "yes" if row.applied else "no",
                )
            console.print(table)
        if updates := self.updates():
            table = table_of("Updates available", "artifact", "current commit", "upstream commit")
            for e in updates:
                table.add_row(Text(e.artifact_key), sha(e.current_sha), sha(e.upstream_sha))
            console.print(table)
        if skipped := self.skipped():
            table = table_of("Skipped", "artifact", "reason")
            for e in skipped:
                table.add_row(Text(e.artifact_key), e.reason or "-")
            console.print(table)
        if errors := self.errors():
            table = table_of("Errors", "artifact", "code", "message", style="red")
            for key, code, message in errors:
                table.add_row(Text(key), code, Text(message))
            console.print(table)
