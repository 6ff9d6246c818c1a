"""`manage.py import_collection PATH --owner USER`: import a single-user `collection.toml`.

The same `import_manifest` as `POST /api/v1/collections/import`: all or nothing, re-import
updates in place, `--dry-run` writes nothing. Exit status 0 when imported, 1 when not.
"""

import sys
from pathlib import Path
from typing import TypedDict, Unpack

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from collections_app.manifest.importer import import_manifest
from refresher.exceptions import ServiceError


class ImportCommandOptions(TypedDict):
    path: str
    owner: str
    name: str | None
    dry_run: bool


class Command(BaseCommand):
    help = (
        "Import a collection.toml into a user's collection (created, or updated in place when "
        "the user has one of that name). Nothing is written when any entry is invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The manifest file, or - to read standard input.")
        parser.add_argument("--owner", required=True, help="Username of the collection's owner.")
        parser.add_argument("--name", help="Collection name (default: the manifest's name).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; write nothing."
        )

    def handle(self, *args: str, **options: Unpack[ImportCommandOptions]) -> None:
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"No user named {options['owner']!r}.")
        data = self._read(options["path"])
        try:
            result = import_manifest(
                data, owner=owner, name=options["name"], dry_run=options["dry_run"]
            )
        except ServiceError as exc:
            lines = [exc.message]
            for place, messages in (exc.details or {}).items():
                if isinstance(messages, list):
                    lines.extend(f"  {place}: {message}" for message in messages)
            raise CommandError("\n".join(lines)) from None

        width = max((len(f"{a.type}:{a.name}") for a in result.artifacts), default=0)
        for item in result.artifacts:
            reason = f"  ({item.reason})" if item.reason else ""
            self.stdout.write(f"{item.type}:{item.name}".ljust(width) + f"  {item.status}{reason}")
        counts: dict[str, int] = {}
        for item in result.artifacts:
            counts[item.status] = counts.get(item.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "empty"
        if result.dry_run:
            where = "a new collection" if result.created else f"collection {result.collection_id}"
            self.stdout.write(f"Dry run, nothing written: {where}; {summary}.")
        else:
            verb = "Created" if result.created else "Updated"
            self.stdout.write(
                self.style.SUCCESS(f"{verb} collection {result.collection_id}: {summary}.")
            )

    def _read(self, path: str) -> bytes:
        limit = settings.COLLECTION_IMPORT_MAX_BYTES
        if path == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            file = Path(path)
            if not file.is_file():
                raise CommandError(f"No manifest file at {path}.")
            with file.open("rb") as handle:
                data = handle.read(limit + 1)
        if len(data) > limit:
            raise CommandError(f"The manifest is larger than {limit} bytes.")
        return data
