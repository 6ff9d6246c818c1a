"""`manage.py export_collection <id | owner/name> [-o PATH]`: write a collection.toml.

The same text as `GET /api/v1/collections/{id}/export`.
"""

import uuid
from pathlib import Path
from typing import TypedDict, Unpack

from django.core.management.base import BaseCommand, CommandError, CommandParser

from collections_app.manifest.export import export_manifest
from collections_app.models import Collection


class ExportCommandOptions(TypedDict):
    collection: str
    output: str | None


class Command(BaseCommand):
    help = "Write a collection as a collection.toml (to standard output, or to a file with -o)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "collection", help='The collection: its id (UUID) or "owner_username/collection name".'
        )
        parser.add_argument("-o", "--output", help="Write to this file instead of stdout.")

    def handle(self, *args: str, **options: Unpack[ExportCommandOptions]) -> None:
        collection = find_collection(options["collection"])
        text = export_manifest(collection)
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {collection.name!r} to {options['output']}.")
        else:
            self.stdout.write(text, ending="")


def find_collection(ref: str) -> Collection:
    """The collection named by id or by owner/name; CommandError when there is none."""
    ref = ref.strip()
    qs = Collection.objects.select_related("owner")
    try:
        pk = uuid.UUID(ref)
    except ValueError:
        owner, slash, name = ref.partition("/")
        if not slash or not owner or not name:
            raise CommandError(
                f"{ref!r} is neither a collection id (UUID) nor 'owner_username/collection name'."
            ) from None
        found = qs.filter(owner__username=owner, name=name).first()
        if found is None:
            raise CommandError(f"No collection named {name!r} owned by {owner!r}.") from None
        return found
    found = qs.filter(pk=pk).first()
    if found is None:
        raise CommandError(f"No collection with id {pk}.")
    return found
