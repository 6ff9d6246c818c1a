"""The admin's "Pending updates" page of a collection: read the diff, commits, files and
findings of each update waiting for review, then approve or reject one, some or all.

A mixin of CollectionAdmin (its URL hangs under the collection's change page, which links to it).
Viewing needs the view permission; approving and rejecting change what people's editors run, so
they need the change permission and a POST with its CSRF token.
"""

import uuid
from dataclasses import dataclass
from typing import TypedDict

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from collections_app.models import Collection
from refresher.admin_links import run_admin_url
from refresher.approvals import approve
from refresher.exceptions import InvalidRequest, ServiceError
from refresher.models import PendingUpdate, RefreshRun, RunStatus, Trigger
from refresher.report import outcome_text
from refresher.review.hidden import is_hidden
from refresher.updates.proposals import Choice, pending_updates, reject
from skillmeat_site.request_id import request_id_of

ACTION_FIELD = "review_action"


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a diff line: text as it is, or a marker naming a hidden character."""

    text: str
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # file, hunk, add, del, ctx
    segments: tuple[Segment, ...]


def _reveal(line: str) -> tuple[Segment, ...]:
    """The line with each invisible character shown as a visible `U+XXXX` marker."""
    if line.isascii():
        return (Segment(line),)
    segments: list[Segment] = []
    start = 0
    for index, char in enumerate(line):
        if not char.isascii() and is_hidden(line, index):
            if start < index:
                segments.append(Segment(line[start:index]))
            segments.append(Segment(f"U+{ord(char):04X}", hidden=True))
            start = index + 1
    if start < len(line):
        segments.append(Segment(line[start:]))
    return tuple(segments)


def diff_lines(diff: str) -> list[DiffLine]:
    """A unified diff's lines, each with its kind for styling."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++ ", "--- ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append(DiffLine(kind, _reveal(line)))
    return lines


class ReviewAdminMixin(admin.ModelAdmin):
    """Adds `<collection>/updates/` to CollectionAdmin (a ModelAdmin, whose methods it uses)."""

    def review_urls(self) -> list[URLPattern]:
        return [
            path(
                "<uuid:object_id>/updates/",
                self.admin_site.admin_view(self.updates_view),
                name="collections_app_collection_updates",
            )
        ]

    def updates_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        collection: Collection = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, collection):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request, collection):
                raise PermissionDenied
            self._act(request, collection)
            return HttpResponseRedirect(request.path)
        proposals = list(pending_updates(collection.pk))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Pending updates of “{collection}”",
            "subtitle": None,
            "opts": Collection._meta,
            "original": collection,
            "updates": [_presented(p) for p in proposals],
            "can_change": self.has_change_permission(request, collection),
            "action_field": ACTION_FIELD,
            "change_url": reverse("admin:collections_app_collection_change", args=[collection.pk]),
        }
        return TemplateResponse(request, "admin/collections_app/collection/updates.html", context)

    def _act(self, request: HttpRequest, collection: Collection) -> None:
        """Approve or reject what the form chose; the outcome becomes a message."""
        action = request.POST.get(ACTION_FIELD, "")
        everything = action.endswith("_all")
        try:
            choice = Choice(artifact_ids=_ids(request.POST.getlist("artifact")), all=everything)
            if not everything and not choice.artifact_ids:
                raise InvalidRequest("Select the updates first, or use the buttons for all.")
            if action in ("reject", "reject_all"):
                rejected = reject(collection, choice, user=request.user)
                names = ", ".join(f"{p.artifact.type}:{p.artifact.name}" for p in rejected)
                self.message_user(
                    request, f"Rejected {len(rejected)} update(s): {names}.", messages.SUCCESS
                )
            elif action in ("approve", "approve_all"):
                self._approve(request, collection, choice)
            else:
                self.message_user(request, "Choose approve or reject.", messages.ERROR)
        except ServiceError as exc:
            self.message_user(request, format_html("{}", exc.message), messages.ERROR)

    def _approve(self, request: HttpRequest, collection: Collection, choice: Choice) -> None:
        launched = approve(
            collection,
            choice,
            trigger=Trigger.ADMIN,
            accept_findings=bool(request.POST.get("accept_findings")),
            user=request.user,
            request_id=request_id_of(request),
            deadline_seconds=settings.REFRESH_INLINE_DEADLINE,
        )
        run = launched.run
        if launched.background:
            text = format_html(
                'Approved: queued a background sync. <a href="{}">View the run</a>.',
                run_admin_url(run.pk),
            )
            self.message_user(request, text, messages.SUCCESS)
            return
        level = messages.SUCCESS if run.status == RunStatus.COMPLETED else messages.WARNING
        if run.skipped:
            level = messages.WARNING  # content held back by its findings
        self.message_user(request, _approved_message(run), level)


def _approved_message(run: RefreshRun) -> SafeString:
    return format_html(
        'Approved: {}. <a href="{}">View the run</a>.', outcome_text(run), run_admin_url(run.pk)
    )


def _ids(values: list[str]) -> tuple[uuid.UUID, ...]:
    try:
        return tuple(uuid.UUID(value) for value in values)
    except ValueError:
        raise InvalidRequest("The form named an update that does not exist.") from None


class PresentedUpdate(TypedDict):
    """One update as the page shows it."""

    proposal: PendingUpdate
    diff: list[DiffLine]
    worst: str  # the most severe of its findings, or ""


def _presented(proposal: PendingUpdate) -> PresentedUpdate:
    severities = [f.get("severity") for f in proposal.findings]
    return {
        "proposal": proposal,
        "diff": diff_lines(proposal.diff),
        "worst": next((s for s in ("high", "medium", "low") if s in severities), ""),
    }
