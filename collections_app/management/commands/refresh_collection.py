"""`manage.py refresh_collection`: refresh one collection from the command line (SPEC section 9).

It validates its options with the API's RefreshRequest serializer and calls the same
`refresh_now` the API does, so a refresh behaves the same through every door. The exit status is
meant for scripts and CI: 0 ok, 1 an entry error or a bad argument, 2 a check found something.
"""

import json
import sys
import uuid
from collections.abc import Iterator
from typing import Any, NoReturn, TextIO

from django.core.management.base import BaseCommand, CommandParser
from rest_framework.renderers import JSONRenderer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from collections_app.models import ArtifactType, Collection
from collections_app.refresh_serializers import RefreshRequestSerializer, RefreshResponseSerializer
from refresher.changes import FIELDS
from refresher.evaluate import CONTENT
from refresher.exceptions import ServiceError
from refresher.models import EntryStatus, Mode, RefreshEntry, RefreshRun, Trigger
from refresher.options import RefreshOptions
from refresher.service import refresh_now

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHECK_FOUND = 2

# Serializer keys as the user typed them on the command line.
OPTION_NAMES = {
    "mode": "--mode",
    "dry_run": "--dry-run",
    "fields": "--fields",
    "artifact_filter.type": "--type",
    "artifact_filter.name": "--name",
}
CHOICES_HINT = {
    "mode": f"choose from {', '.join(Mode.values)}",
    "artifact_filter.type": f"choose from {', '.join(ArtifactType.values)}",
}


class Command(BaseCommand):
    help = (
        "Refresh a collection's artifacts from their GitHub sources and print what changed. "
        "Exit status: 0 ok; 1 an artifact failed, a bad argument, or the refresh could not run; "
        "2 a check_only run found a metadata change or an update."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if parser.called_from_command_line:
            # argparse exits with 2 on a usage error, but 2 here means "a check found updates":
            # a script must not read a typo as news.
            def error(message: str) -> None:
                parser.print_usage(sys.stderr)
                parser.exit(EXIT_ERROR, f"{parser.prog}: error: {message}\n")

            parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "collection",
            help='The collection: its id (UUID) or "owner_username/collection name".',
        )
        parser.add_argument(
            "--mode",
            metavar="MODE",
            help=(
                "metadata_only (default) applies metadata changes; check_only reports changes and "
                "updates without writing; sync also moves content to upstream's head."
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Compute everything but write nothing except the run record.",
        )
        parser.add_argument(
            "--fields",
            metavar="A,B",
            help=f"Comma-separated metadata fields to compare and apply: {','.join(FIELDS)}. "
            "Default: all.",
        )
        parser.add_argument(
            "--type",
            metavar="TYPE",
            help=f"Only artifacts of this type: {', '.join(ArtifactType.values)}.",
        )
        parser.add_argument(
            "--name",
            metavar="GLOB",
            help="Only artifacts whose name matches this glob, e.g. 'pdf*' (quote it).",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print only the run as RefreshResponse JSON (the API's shape) on stdout.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        collection = self._collection(options["collection"])
        refresh_options = self._refresh_options(options)
        progress = ProgressReport(
            self.stderr,
            label=f"Refreshing {collection_label(collection)}",
            bar=self.stdout.isatty() and self.stderr.isatty(),
            quiet=options["verbosity"] == 0,
            color=not options["no_color"],
        )
        try:
            try:
                run = refresh_now(
                    collection, refresh_options, progress=progress, trigger=Trigger.COMMAND
                )
            finally:
                progress.close()
        except ServiceError as exc:
            self._fail(service_error_message(exc))

        entries = list(run.entries.all())
        if options["json"]:
            data = RefreshResponseSerializer(run).data
            self.stdout.write(JSONRenderer().render(data, renderer_context={"indent": 2}).decode())
        else:
            report = Report(collection, run, entries)
            if self.stdout.isatty():
                report.print_rich(raw_stream(self.stdout), color=not options["no_color"])
            else:
                for line in report.plain_lines():
                    self.stdout.write(line)

        code = exit_code(run, entries)
        if code != EXIT_OK:
            raise SystemExit(code)

    def _collection(self, ref: str) -> Collection:
        """The collection named by id or by owner/name; exit 1 when there is none."""
        qs = Collection.objects.select_related("owner")
        ref = ref.strip()
        try:
            pk = uuid.UUID(ref)
        except ValueError:
            owner, slash, name = ref.partition("/")
            if not slash or not owner or not name:
                self._fail(
                    f"{ref!r} is neither a collection id (UUID) "
                    "nor 'owner_username/collection name'."
                )
            found = qs.filter(owner__username=owner, name=name).first()
            if found is None:
                self._fail(f"No collection named {name!r} owned by {owner!r}.")
            return found
        found = qs.filter(pk=pk).first()
        if found is None:
            self._fail(f"No collection with id {pk}.")
        return found

    def _refresh_options(self, options: dict[str, Any]) -> RefreshOptions:
        """Validate the options with the API's own rules, so both doors accept the same things."""
        data: dict[str, Any] = {"dry_run": options["dry_run"]}
        if options["mode"] is not None:
            data["mode"] = options["mode"]
        if options["fields"] is not None:
            data["fields"] = options["fields"].split(",")
        artifact_filter = {
            key: options[key] for key in ("type", "name") if options[key] is not None
        }
        if artifact_filter:
            data["artifact_filter"] = artifact_filter
        serializer = RefreshRequestSerializer(data=data)
        if not serializer.is_valid():
            self._fail("\n".join(validation_messages(serializer.errors)))
        return serializer.to_options()

    def _fail(self, message: str, code: int = EXIT_ERROR) -> NoReturn:
        self.stderr.write(message)
        raise SystemExit(code)


class ProgressReport:
    """The engine's progress callback: a rich bar on a terminal, otherwise plain lines.

    Plain lines are thinned out to about twenty per run so a big collection does not flood a CI log.
    """

    def __init__(self, stream: Any, *, label: str, bar: bool, quiet: bool, color: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.last_printed = 0
        self.bar: Progress | None = None
        if bar and not quiet:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=raw_stream(stream), no_color=not color),
                transient=True,
            )
            self.task = self.bar.add_task(label, total=None)
            self.bar.start()

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)
            return
        step = max(1, total // 20)
        if done == total or done - self.last_printed >= step:
            self.stream.write(f"refreshed {done}/{total}")
            self.last_printed = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class Report:
    """The human-readable outcome of a run: summary, changes, updates, skips and errors."""

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

    def change_rows(self) -> Iterator[tuple[RefreshEntry, str, str, str, bool]]:
        """(entry, field, old, new, applied) for every changed field, values in full."""
        for entry in self.entries:
            for name, change in entry.changes.items():
                applied = bool(change.get("applied"))
                if name != CONTENT:
                    yield entry, name, show(change.get("old")), show(change.get("new")), applied
                    continue
                # The text can be any size: its SHAs say what moved. The commit is shown only
                # when it moved, as it can without the content changing.
                old, new = change.get("old") or {}, change.get("new") or {}
                for key in ("content_sha", "resolved_sha"):
                    if key == "content_sha" or old.get(key) != new.get(key):
                        before, after = old.get(key) or None, new.get(key) or None
                        yield entry, f"content.{key}", show(before), show(after), applied

    def updates(self) -> list[RefreshEntry]:
        return [e for e in self.entries if e.update_available]

    def skipped(self) -> list[RefreshEntry]:
        return [e for e in self.entries if e.status == EntryStatus.SKIPPED]

    def errors(self) -> list[tuple[str, str, str]]:
        rows = [
            (e.artifact_key, e.error_code, e.error_message)
            for e in self.entries
            if e.status == EntryStatus.ERROR
        ]
        if self.run.error_code:
            rows.append(("(run)", self.run.error_code, self.run.error_message))
        return rows

    def plain_lines(self) -> Iterator[str]:
        yield self.title()
        width = max(len(label) for label, _ in self.summary_rows())
        for label, value in self.summary_rows():
            yield f"  {label.ljust(width)}  {value}"

        current = None
        for entry, name, old, new, applied in self.change_rows():
            if current is None:
                yield ""
                yield "Changes"
            if entry is not current:
                reason = f", {entry.reason}" if entry.reason else ""
                yield f"  {entry.artifact_key} ({entry.status}{reason})"
                current = entry
            yield f"    {name}: {old} -> {new}{'' if applied else '  (not applied)'}"

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
        if errors := self.errors():
            yield ""
            yield "Errors"
            for key, code, message in errors:
                yield f"  {key}: {code}: {message}"

    def print_rich(self, stream: TextIO, *, color: bool = True) -> None:
        console = Console(file=stream, no_color=not color)
        summary = Table(title=self.title(), show_header=False, title_justify="left")
        summary.add_column(style="bold")
        summary.add_column(overflow="fold")
        for label, value in self.summary_rows():
            summary.add_row(label, Text(value))
        console.print(summary)

        changes = self.change_rows()
        first = next(changes, None)
        if first is not None:
            table = table_of("Changes", "artifact", "field", "old", "new", "applied")
            for entry, name, old, new, applied in (first, *changes):
                table.add_row(
                    Text(entry.artifact_key), name, Text(old), Text(new), "yes" if applied else "no"
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


def table_of(title: str, *columns: str, style: str = "") -> Table:
    # "fold" wraps long values onto more lines: a changed value is never cut short.
    table = Table(title=title, title_justify="left", title_style=style or None)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def collection_label(collection: Collection) -> str:
    return f"{collection.owner.get_username()}/{collection.name}"


def show(value: Any) -> str:
    """A field value on one line, quoted, so blanks and whitespace stay visible."""
    return json.dumps(value, ensure_ascii=False)


def sha(value: str) -> str:
    return value or "(none)"


def raw_stream(wrapper: Any) -> Any:
    # Django's OutputWrapper appends a newline to every write, which breaks rich's live display.
    return getattr(wrapper, "_out", wrapper)


def validation_messages(errors: Any, path: str = "") -> Iterator[str]:
    """RefreshRequest errors as one line per problem, named by the option the user typed."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from validation_messages(value, f"{path}.{key}" if path else str(key))
        return
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        hint = f" ({CHOICES_HINT[path]})" if path in CHOICES_HINT else ""
        yield f"{OPTION_NAMES.get(path, path)}: {' '.join(errors)}{hint}"
        return
    for item in errors:
        yield from validation_messages(item, path)


def service_error_message(exc: ServiceError) -> str:
    message = exc.message
    run_id = (exc.details or {}).get("run_id")
    if run_id:
        message += f" (run {run_id})"
    if exc.retry_after:
        message += f" Retry in {exc.retry_after} s."
    return message


def exit_code(run: RefreshRun, entries: list[RefreshEntry]) -> int:
    if run.error or run.error_code:
        return EXIT_ERROR
    if run.mode == Mode.CHECK_ONLY and any(
        e.status == EntryStatus.REFRESHED or e.update_available for e in entries
    ):
        return EXIT_CHECK_FOUND
    return EXIT_OK
