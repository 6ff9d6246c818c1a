"""`manage.py refresh_collection`: refresh one collection from the command line (SPEC section 9).

It validates its options with the API's RefreshRequest serializer and starts the run through the
same `launch` the API does (always inline), so a refresh behaves the same through every door. The
exit status is meant for scripts and CI: 0 ok, 1 an entry error or a bad argument, 2 a check found
something; a non-zero status is a CommandError with that `returncode`, so Django prints its message
on stderr.
The report itself is rendered by `refresher.report`, which the admin's run pages share.
`--verbosity 0` prints nothing but errors (and the JSON asked for with `--json`).
"""

import io
import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn, TextIO, TypedDict, Unpack, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from rest_framework.renderers import JSONRenderer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from collections_app.models import ArtifactType, Collection
from collections_app.refresh_serializers import RefreshRequestSerializer, RefreshResponseSerializer
from refresher.changes import FIELDS
from refresher.exceptions import ServiceError
from refresher.json_types import JSON
from refresher.models import EntryStatus, Mode, RefreshEntry, RefreshRun, Trigger
from refresher.options import RefreshOptions
from refresher.report import Report, collection_label
from refresher.service import launch

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


class RefreshCommandOptions(TypedDict):
    """The command's options as argparse gives them (and the two of Django's it reads)."""

    collection: str
    mode: str | None
    dry_run: bool
    fields: str | None
    type: str | None
    name: str | None
    json: bool
    verbosity: int
    no_color: bool


class ExitCodeCommand(BaseCommand):
    """A command whose exit status 2 means news (a check found updates, updates wait), so a
    usage error exits with 1 instead of argparse's 2: a script must not read a typo as news."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: object) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if parser.called_from_command_line:

            def error(message: str) -> None:
                parser.print_usage(sys.stderr)
                parser.exit(EXIT_ERROR, f"{parser.prog}: error: {message}\n")

            parser.error = error  # type: ignore[method-assign]
        return parser


class Command(ExitCodeCommand):
    help = (
        "Refresh a collection's artifacts from their GitHub sources and print what changed. "
        "Exit status: 0 ok; 1 an artifact failed, a bad argument, or the refresh could not run; "
        "2 a check_only run found a metadata change or an update."
    )

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

    def handle(self, *args: str, **options: Unpack[RefreshCommandOptions]) -> None:
        collection = self._collection(options["collection"])
        refresh_options = self._refresh_options(options)
        quiet = options["verbosity"] == 0
        progress = ProgressReport(
            self.stderr,
            label=f"Refreshing {collection_label(collection)}",
            bar=self.stdout.isatty() and self.stderr.isatty(),
            quiet=quiet,
            color=not options["no_color"],
        )
        try:
            try:
                with quiet_logs(quiet):
                    run = launch(
                        collection,
                        refresh_options,
                        trigger=Trigger.COMMAND,
                        inline=True,
                        progress=progress,
                    ).run
            finally:
                progress.close()
        except ServiceError as exc:
            self._fail(service_error_message(exc))

        entries = list(run.entries.all())
        report = Report(collection, run, entries)
        if options["json"]:
            data = RefreshResponseSerializer(run).data
            self.stdout.write(JSONRenderer().render(data, renderer_context={"indent": 2}).decode())
        elif quiet:
            for line in report.error_lines():
                self.stderr.write(line)
        elif self.stdout.isatty():
            report.print_rich(console_file(self.stdout), color=not options["no_color"])
        else:
            for line in report.plain_lines():
                self.stdout.write(line)

        code = exit_code(run, entries)
        if code != EXIT_OK:
            raise CommandError(exit_message(run, entries, code), returncode=code)

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

    def _refresh_options(self, options: RefreshCommandOptions) -> RefreshOptions:
        """Validate the options with the API's own rules, so both doors accept the same things."""
        data: dict[str, object] = {"dry_run": options["dry_run"]}
        if options["mode"] is not None:
            data["mode"] = options["mode"]
        if options["fields"] is not None:
            data["fields"] = options["fields"].split(",")
        wanted = (("type", options["type"]), ("name", options["name"]))
        artifact_filter = {key: value for key, value in wanted if value is not None}
        if artifact_filter:
            data["artifact_filter"] = artifact_filter
        serializer = RefreshRequestSerializer(data=data)
        if not serializer.is_valid():
            self._fail("\n".join(validation_messages(serializer.errors)))
        return serializer.to_options()

    def _fail(self, message: str) -> NoReturn:
        raise CommandError(message, returncode=EXIT_ERROR)


class ProgressReport:
    """The engine's progress callback: a rich bar on a terminal, otherwise plain lines.

    Plain lines are thinned out to about twenty per run so a big collection does not flood a CI log.
    """

    def __init__(
        self, stream: OutputWrapper, *, label: str, bar: bool, quiet: bool, color: bool
    ) -> None:
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
                console=Console(file=console_file(stream), no_color=not color),
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


# The project's loggers; the engine logs one INFO line per run.
PROJECT_LOGGERS = ("refresher", "collections_app", "skillmeat_site")


@contextmanager
def quiet_logs(quiet: bool) -> Iterator[None]:
    """With `quiet`, only warnings and errors of the project's loggers are printed meanwhile."""
    loggers = [logging.getLogger(name) for name in PROJECT_LOGGERS] if quiet else []
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class ConsoleFile(io.TextIOBase):
    """A command's output stream as a plain file for rich.

    Django's OutputWrapper ends every write with a newline (which breaks rich's live display) and
    styles stderr as an error on a terminal; rich writes its own line ends and colours.
    """

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> int:
        self.wrapper.write(text, style_func=_unstyled, ending="")
        return len(text)

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return self.wrapper.isatty()

    def writable(self) -> bool:
        return True


def _unstyled(text: str) -> str:
    return text


def console_file(wrapper: OutputWrapper) -> TextIO:
    # Rich writes, flushes and asks isatty() only; the stubs' TextIOBase is not an IO[str].
    return cast(TextIO, ConsoleFile(wrapper))


def validation_messages(errors: JSON, path: str = "") -> Iterator[str]:
    """RefreshRequest errors as one line per problem, named by the option the user typed."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from validation_messages(value, f"{path}.{key}" if path else str(key))
        return
    if not isinstance(errors, list):
        return  # a serializer's errors are dicts and lists of messages
    texts = [e for e in errors if isinstance(e, str)]
    if len(texts) == len(errors):
        hint = f" ({CHOICES_HINT[path]})" if path in CHOICES_HINT else ""
        yield f"{OPTION_NAMES.get(path, path)}: {' '.join(texts)}{hint}"
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


def exit_message(run: RefreshRun, entries: list[RefreshEntry], code: int) -> str:
    """Why the command exits with a non-zero `code` (it goes to stderr, after the report)."""
    if code == EXIT_CHECK_FOUND:
        found = sum(1 for e in entries if e.status == EntryStatus.REFRESHED or e.update_available)
        return f"The check found changes or updates for {_artifacts(found)}."
    if run.error_code:
        return f"The run failed: {run.error_code}: {run.error_message}"
    return f"{_artifacts(run.error).capitalize()} could not be refreshed."


def _artifacts(count: int) -> str:
    return f"{count} artifact{'' if count == 1 else 's'}"
