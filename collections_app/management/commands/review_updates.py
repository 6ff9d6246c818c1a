"""`manage.py review_updates <collection id | owner/name> [--approve ID...|--reject ID...|--all]
[--accept-findings] [--json]`: the updates waiting for review, and approving or rejecting them.

Listing is the default. The exit status follows refresh_collection's: 0 ok; 1 a bad argument,
nothing to act on, or an approved artifact that was not taken (an entry error, or content held
back by its findings); 2 when a listing finds updates waiting, as a check that found updates.
"""

import uuid
from typing import NoReturn, TypedDict, Unpack

from django.core.management.base import CommandError, CommandParser
from rest_framework.renderers import JSONRenderer

from collections_app.management.commands.export_collection import find_collection
from collections_app.management.commands.refresh_collection import (
    EXIT_CHECK_FOUND,
    EXIT_ERROR,
    ExitCodeCommand,
    service_error_message,
)
from collections_app.models import Collection
from collections_app.refresh_serializers import RefreshResponseSerializer
from collections_app.review_serializers import PendingUpdateSerializer, RejectResponseSerializer
from refresher.approvals import approve
from refresher.exceptions import ServiceError
from refresher.models import EntryStatus, PendingUpdate, Trigger
from refresher.report import Report
from refresher.updates.proposals import Choice, pending_updates, reject


class ReviewCommandOptions(TypedDict):
    """The command's options as argparse gives them."""

    collection: str
    approve: list[str] | None
    reject: list[str] | None
    all: bool
    accept_findings: bool
    json: bool


class Command(ExitCodeCommand):
    help = (
        "List a collection's updates waiting for review, or approve or reject them. Exit "
        "status: 0 ok; 1 a bad argument, nothing to act on, or an approved artifact not taken; "
        "2 updates are waiting (listing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "collection", help='The collection: its id (UUID) or "owner_username/collection name".'
        )
        act = parser.add_mutually_exclusive_group()
        act.add_argument(
            "--approve",
            nargs="*",
            metavar="ID",
            help="Sync these artifacts (ids) at the reviewed commits; with --all, every one.",
        )
        act.add_argument(
            "--reject",
            nargs="*",
            metavar="ID",
            help="Drop these proposals until the artifacts' content changes upstream again.",
        )
        parser.add_argument(
            "--all", action="store_true", help="Every update waiting (with --approve/--reject)."
        )
        parser.add_argument(
            "--accept-findings",
            action="store_true",
            help="Approve even content the collection's block_findings would hold back.",
        )
        parser.add_argument("--json", action="store_true", help="Print the API's JSON shapes.")

    def handle(self, *args: str, **options: Unpack[ReviewCommandOptions]) -> None:
        collection = find_collection(options["collection"])
        ids = options["approve"] if options["approve"] is not None else options["reject"]
        if ids is None:  # neither --approve nor --reject
            if options["all"] or options["accept_findings"]:
                self._fail("--all and --accept-findings go with --approve or --reject.")
            self._list(collection, as_json=options["json"])
            return
        choice = self._choice(ids, everything=options["all"])
        try:
            if options["reject"] is not None:
                self._reject(collection, choice, as_json=options["json"])
            else:
                self._approve(collection, choice, options)
        except ServiceError as exc:
            self._fail(service_error_message(exc))

    def _list(self, collection: Collection, *, as_json: bool) -> None:
        proposals = list(pending_updates(collection.pk))
        if as_json:
            data = PendingUpdateSerializer(proposals, many=True).data
            self.stdout.write(JSONRenderer().render(data, renderer_context={"indent": 2}).decode())
        elif not proposals:
            self.stdout.write(f"No updates of {collection.name!r} are waiting for review.")
        for proposal in [] if as_json else proposals:
            self.stdout.write(_line(proposal))
            for finding in proposal.findings:
                where = finding["path"] + (f":{finding['line']}" if finding.get("line") else "")
                text = f"{finding['severity']:<6} {finding['code']} {where}: {finding['message']}"
                self.stdout.write(f"    {text}")
        if proposals:
            raise CommandError(
                f"{len(proposals)} update(s) waiting for review.", returncode=EXIT_CHECK_FOUND
            )

    def _reject(self, collection: Collection, choice: Choice, *, as_json: bool) -> None:
        rejected = reject(collection, choice)
        if as_json:
            data = RejectResponseSerializer({"rejected": rejected}).data
            self.stdout.write(JSONRenderer().render(data, renderer_context={"indent": 2}).decode())
            return
        for proposal in rejected:
            self.stdout.write(f"rejected {_line(proposal)}")

    def _approve(
        self, collection: Collection, choice: Choice, options: ReviewCommandOptions
    ) -> None:
        run = approve(
            collection,
            choice,
            trigger=Trigger.COMMAND,
            accept_findings=options["accept_findings"],
            inline=True,
        ).run
        entries = list(run.entries.all())
        if options["json"]:
            data = RefreshResponseSerializer(run).data
            self.stdout.write(JSONRenderer().render(data, renderer_context={"indent": 2}).decode())
        else:
            for line in Report(collection, run, entries).plain_lines():
                self.stdout.write(line)
        held = [e for e in entries if e.status != EntryStatus.REFRESHED or not e.applied]
        if held:
            names = ", ".join(f"{e.artifact_key} ({e.reason or e.error_code})" for e in held)
            raise CommandError(f"Not taken: {names}.", returncode=EXIT_ERROR)

    def _choice(self, ids: list[str], *, everything: bool) -> Choice:
        if everything == bool(ids):
            self._fail("Name the artifacts (ids) or use --all, not both and not neither.")
        try:
            return Choice(artifact_ids=tuple(uuid.UUID(i) for i in ids), all=everything)
        except ValueError:
            self._fail(f"Not an artifact id (UUID): {', '.join(ids)}")

    def _fail(self, message: str) -> NoReturn:
        raise CommandError(message, returncode=EXIT_ERROR)


def _line(proposal: PendingUpdate) -> str:
    counts = {s: 0 for s in ("high", "medium", "low")}
    for finding in proposal.findings:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    found = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    current = proposal.current_sha[:7] or "-"
    return (
        f"{proposal.artifact_id}  {proposal.artifact.type}:{proposal.artifact.name}  "
        f"{current} -> {proposal.upstream_sha[:7]}  {len(proposal.commits)} commit(s), "
        f"{len(proposal.files)} file(s), {found}"
    )
