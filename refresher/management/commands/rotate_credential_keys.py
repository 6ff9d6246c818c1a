"""`manage.py rotate_credential_keys`: re-encrypt every stored secret with the first key."""

from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from refresher.credentials.rotation import rotate_all
from refresher.exceptions import CredentialsDisabled


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored credential secret and cached GitHub App installation token "
        "with the first key of CREDENTIAL_KEYS. Safe to run while the site serves, and again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows read per query (default 500)."
        )

    def handle(self, *args: str, batch_size: int, **options: object) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            report = rotate_all(batch_size=batch_size)
        except CredentialsDisabled as exc:
            raise CommandError(exc.message) from None
        unreadable = []
        for what, outcome in report.items():
            self.stdout.write(
                f"{what}: {outcome.rotated} re-encrypted, {outcome.current} already under the "
                f"first key, {len(outcome.unreadable)} unreadable"
            )
            unreadable += [f"{what} {pk}" for pk in outcome.unreadable]
        if unreadable:
            raise CommandError(
                "No key in CREDENTIAL_KEYS opens: " + ", ".join(unreadable) + ". Put the key "
                "they were stored with back into CREDENTIAL_KEYS, or store those secrets again.",
                returncode=1,
            )
