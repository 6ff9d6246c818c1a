"""Admin for collections and artifacts, with the refresh actions.

One collection: a dry-run preview first, then Apply. Several: one background run each.
"""

import uuid
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from collections_app.admin_preview import Preview, PreviewEntry
from collections_app.credential_admin import CollectionCredentialInline
from collections_app.marketplace.admin import MarketplaceAdminMixin, marketplace_box
from collections_app.models import Artifact, ArtifactType, Collection
from collections_app.querysets import with_artifact_count
from collections_app.review_admin import ReviewAdminMixin
from refresher.admin_links import run_admin_url
from refresher.discovery import DiscoverRequest, Discovery, Status, discover_now
from refresher.exceptions import ServiceError
from refresher.models import (
    MAX_UPDATE_AGE_HOURS,
    EntryStatus,
    FindingsThreshold,
    Mode,
    RefreshEntry,
    RefreshRun,
    RunStatus,
    Trigger,
)
from refresher.options import RefreshOptions
from refresher.report import change_rows, outcome_text
from refresher.service import launch
from skillmeat_site.request_id import request_id_of

# The preview page posts back the same action with this field set to run the real refresh.
APPLY_FIELD = "apply"
# Entries a preview lists per collection; the dry run's own page pages through the rest.
PREVIEW_ENTRIES = 100


def artifact_list_url(collection: Collection, **filters: str) -> str:
    """The admin's artifact list narrowed to one collection (and to `filters`, e.g. a type)."""
    query = {"collection__id__exact": str(collection.pk), **filters}
    return f"{reverse('admin:collections_app_artifact_changelist')}?{urlencode(query)}"


@dataclass(frozen=True)
class TypeCount:
    label: str
    count: int
    url: str  # the artifact list filtered to the collection and this type


@dataclass(frozen=True)
class ArtifactSummary:
    """What the collection page says of its artifacts, whatever their number."""

    total: int
    types: list[TypeCount]
    url: str  # the artifact list filtered to the collection
    add_url: str  # a new artifact's page, the collection chosen


def artifact_summary(collection: Collection) -> ArtifactSummary:
    """Counts per type, each a link to the artifact list filtered to them (one query)."""
    counts: dict[str, int] = dict(
        Artifact.objects.filter(collection=collection)
        .order_by()
        .values_list("type")
        .annotate(count=Count("pk"))
    )
    types = [
        TypeCount(label, counts[value], artifact_list_url(collection, type__exact=value))
        for value, label in ArtifactType.choices
        if counts.get(value)
    ]
    add_url = reverse("admin:collections_app_artifact_add")
    return ArtifactSummary(
        total=sum(counts.values()),
        types=types,
        url=artifact_list_url(collection),
        add_url=f"{add_url}?{urlencode({'collection': str(collection.pk)})}",
    )


# What only the manifest uses: shown read-only, since an import of collection.toml sets them.
MANIFEST_FIELDS = (
    "path",
    "origin",
    "origin_source",
    "manifest_upstream",
    "version_spec",
    "resolved_version",
    "manifest_uuid",
    "metadata_version",
    "dependencies",
    "manifest_extra",
    "metadata_extra",
)


class DiscoverForm(forms.Form):
    """The "Add from repository" page's form: a source, the kinds wanted, sync afterwards."""

    source = forms.CharField(
        max_length=1000,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="owner/repo[/path][@ref], a github.com URL, or "
        "git+https://HOST/PATH/REPO.git//path@ref",
    )
    types = forms.MultipleChoiceField(
        choices=ArtifactType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )
    refresh = forms.BooleanField(
        required=False, label="Sync the added artifacts", help_text="Reads their content too."
    )


class CollectionForm(forms.ModelForm):
    """The notification secret is write-only here too: never shown, kept when left blank."""

    notify_secret = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs notifications (X-SkillMeat-Signature-256). Leave blank to keep the "
        "current secret.",
    )
    clear_notify_secret = forms.BooleanField(
        required=False, label="Remove the secret", help_text="Send notifications unsigned."
    )
    # A post that leaves the review settings out (a script, an older form) keeps them.
    min_update_age_hours = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_UPDATE_AGE_HOURS,
        label="Minimum update age (hours)",
        help_text="An upstream commit younger than this (its committer date) is neither "
        "proposed nor taken yet; 0 = no cooldown.",
    )
    block_findings = forms.ChoiceField(
        required=False,
        choices=FindingsThreshold.choices,
        help_text="A sync does not take content with findings of this severity or worse "
        "unless it is approved with the findings accepted.",
    )

    class Meta:
        model = Collection
        fields = [
            "owner",
            "name",
            "description",
            "auto_refresh_mode",
            "refresh_schedule",
            "refresh_on_push",
            "notify_url",
            "notify_secret",
            "review_updates",
            "min_update_age_hours",
            "block_findings",
        ]

    def clean_notify_secret(self) -> str:
        value: str = self.cleaned_data.get("notify_secret") or ""
        if self.cleaned_data.get("clear_notify_secret"):
            return ""
        if not value and self.instance.pk:
            return self.instance.notify_secret
        return value

    def clean_min_update_age_hours(self) -> int:
        value = self.cleaned_data.get("min_update_age_hours")
        return self.instance.min_update_age_hours if value is None else int(value)

    def clean_block_findings(self) -> str:
        value: str = self.cleaned_data.get("block_findings") or ""
        return value or self.instance.block_findings

    def clean(self) -> dict[str, object]:
        cleaned: dict[str, object] = super().clean() or {}
        if cleaned.get("clear_notify_secret"):
            cleaned["notify_secret"] = ""
        return cleaned


@admin.register(Collection)
class CollectionAdmin(ReviewAdminMixin, MarketplaceAdminMixin, admin.ModelAdmin):
    form = CollectionForm
    list_display = [
        "name",
        "owner",
        "artifact_total",
        "refresh_schedule",
        "next_refresh_at",
        "refresh_on_push",
        "updated_at",
    ]
    list_filter = ["owner", "refresh_on_push", "auto_refresh_mode", "created_at"]
    search_fields = ["name", "description", "owner__username"]
    readonly_fields = [
        "id",
        "next_refresh_at",
        "notify_secret_state",
        "created_at",
        "updated_at",
        "version",
        "manifest_extra",
        "manifest_document_extra",
    ]
    fieldsets = [
        (None, {"fields": ["id", "owner", "name", "description"]}),
        (
            "Keeping fresh",
            {
                "description": "Refreshes nobody asks for: on a schedule (UTC) and when GitHub "
                "reports a push. Both run in the auto refresh mode and notify the URL below "
                "when they find updates or change something.",
                "fields": [
                    "auto_refresh_mode",
                    "refresh_schedule",
                    "next_refresh_at",
                    "refresh_on_push",
                    "notify_url",
                    "notify_secret",
                    "notify_secret_state",
                    "clear_notify_secret",
                ],
            },
        ),
        (
            "Reviewing updates",
            {
                "description": "Updates are code that runs in people's editors: hold them for "
                "review, let fresh commits age first, and stop content with findings.",
                "fields": ["review_updates", "min_update_age_hours", "block_findings"],
            },
        ),
        (
            "Manifest",
            {
                "classes": ["collapse"],
                "fields": ["version", "manifest_extra", "manifest_document_extra"],
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]
    # No inline of the artifacts: a collection of thousands would render thousands of forms.
    # The page counts them by type and links to the artifact list filtered to the collection.
    # Its credentials are few (at most 20), listed in order.
    inlines = [CollectionCredentialInline]
    actions = ["refresh_metadata", "check_for_updates", "sync_with_upstream"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Collection]:
        return with_artifact_count(super().get_queryset(request)).select_related("owner")

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, object],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Collection | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["artifact_summary"] = artifact_summary(obj)
            context["marketplace_box"] = marketplace_box(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="Notification secret")
    def notify_secret_state(self, obj: Collection) -> str:
        return "set" if obj.notify_secret else "not set"

    def get_urls(self) -> list[URLPattern]:
        discover = path(
            "<uuid:object_id>/discover/",
            self.admin_site.admin_view(self.discover_view),
            name="collections_app_collection_discover",
        )
        return [discover, *self.review_urls(), *self.marketplace_urls(), *super().get_urls()]

    def discover_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Add from repository: a preview (a dry run) first, then Add posts the same form back."""
        collection = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, collection):
            raise PermissionDenied
        form = DiscoverForm(request.POST or None)
        discovery = None
        if request.method == "POST" and form.is_valid():
            adding = APPLY_FIELD in request.POST
            wanted = DiscoverRequest(
                source=form.cleaned_data["source"].strip(),
                types=tuple(form.cleaned_data["types"]),
                dry_run=not adding,
                refresh=adding and form.cleaned_data["refresh"],
            )
            try:
                discovery = discover_now(
                    collection, wanted, user=request.user, request_id=request_id_of(request)
                )
            except ServiceError as exc:
                form.add_error("source", exc.message)
            if discovery is not None and adding:
                self._report_discovery(request, collection, discovery)
                change = reverse("admin:collections_app_collection_change", args=[collection.pk])
                return HttpResponseRedirect(change)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Add from repository to “{collection}”",
            "subtitle": None,
            "opts": self.opts,
            "original": collection,
            "form": form,
            "discovery": discovery,
            "addable": bool(
                discovery and any(a.status == Status.FOUND for a in discovery.artifacts)
            ),
            "apply_field": APPLY_FIELD,
        }
        return TemplateResponse(request, "admin/collections_app/collection/discover.html", context)

    def _report_discovery(
        self, request: HttpRequest, collection: Collection, found: Discovery
    ) -> None:
        added = [a for a in found.artifacts if a.status == Status.ADDED]
        invalid = [a for a in found.artifacts if a.status == Status.INVALID]
        text = format_html(
            "Added {} artifact{} from {} to “{}”.",
            len(added),
            "" if len(added) == 1 else "s",
            found.source,
            collection,
        )
        if found.run is not None:
            text = format_html(
                '{} Sync: {}. <a href="{}">View the run</a>.',
                text,
                outcome_text(found.run),
                run_admin_url(found.run.pk),
            )
        self.message_user(request, text, messages.SUCCESS if added else messages.WARNING)
        if invalid:
            self.message_user(
                request,
                f"{len(invalid)} could not be added: "
                + "; ".join(f"{a.path or a.source} ({a.reason})" for a in invalid[:10]),
                messages.WARNING,
            )

    @admin.display(description="Artifacts", ordering="artifact_count")
    def artifact_total(self, obj: Collection) -> int:
        return obj.artifact_count  # type: ignore[attr-defined]

    @admin.action(description="Refresh metadata", permissions=["change"])
    def refresh_metadata(
        self, request: HttpRequest, queryset: QuerySet[Collection]
    ) -> TemplateResponse | None:
        return self._refresh(request, queryset, Mode.METADATA_ONLY, "refresh_metadata")

    @admin.action(description="Check for updates", permissions=["view"])
    def check_for_updates(
        self, request: HttpRequest, queryset: QuerySet[Collection]
    ) -> TemplateResponse | None:
        return self._refresh(request, queryset, Mode.CHECK_ONLY, "check_for_updates")

    @admin.action(description="Sync with upstream", permissions=["change"])
    def sync_with_upstream(
        self, request: HttpRequest, queryset: QuerySet[Collection]
    ) -> TemplateResponse | None:
        return self._refresh(request, queryset, Mode.SYNC, "sync_with_upstream")

    def _refresh(
        self, request: HttpRequest, queryset: QuerySet[Collection], mode: Mode, action: str
    ) -> TemplateResponse | None:
        collections = list(queryset.order_by("name", "id"))
        if len(collections) > 1:
            # Several collections would take several inline refreshes in one request, which a
            # proxy's timeout cuts short: each gets a background run instead, and its page.
            self._queue(request, collections, mode)
            return None
        if APPLY_FIELD in request.POST:
            for collection in collections:
                self._apply(request, collection, mode)
            return None  # back to the change list, where the messages show
        previews = [p for c in collections if (p := self._dry_run(request, c, mode)) is not None]
        if not previews:
            return None  # every dry run failed; the error messages say why
        context = {
            **self.admin_site.each_context(request),
            "title": f"{mode.label}: preview",
            "subtitle": None,
            "opts": self.opts,
            "mode": mode,
            "writes": mode != Mode.CHECK_ONLY,
            "action": action,
            "previews": previews,
            # Apply only what was previewed: a collection whose dry run failed is left out.
            "selected": [p["collection"].pk for p in previews],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "apply_field": APPLY_FIELD,
        }
        return TemplateResponse(
            request, "admin/collections_app/collection/refresh_preview.html", context
        )

    def _queue(self, request: HttpRequest, collections: list[Collection], mode: Mode) -> None:
        """Queue one background run per collection; one message links them all."""
        queued: list[tuple[Collection, RefreshRun]] = []
        for collection in collections:
            run = self._run(request, collection, RefreshOptions(mode=mode, background=True))
            if run is not None:
                queued.append((collection, run))
        if not queued:
            return
        links = format_html_join(
            ", ",
            '<a href="{}">“{}”</a>',
            ((run_admin_url(run.pk), collection) for collection, run in queued),
        )
        count = len(queued)
        text = format_html(
            "{}: queued {} background run{} ({}). A task worker carries them out; each run's "
            "page shows its progress.",
            mode.label,
            count,
            "" if count == 1 else "s",
            links,
        )
        self.message_user(request, text, messages.SUCCESS)

    def _run(
        self, request: HttpRequest, collection: Collection, options: RefreshOptions
    ) -> RefreshRun | None:
        """Refresh (or queue) through the shared engine; its refusals become error messages."""
        try:
            return launch(
                collection,
                options,
                trigger=Trigger.ADMIN,
                user=request.user,
                request_id=request_id_of(request),
                inline=not options.background,
                deadline_seconds=settings.REFRESH_INLINE_DEADLINE,
            ).run
        except ServiceError as exc:
            text: SafeString = format_html("“{}”: {}", collection, exc.message)
            run_id = (exc.details or {}).get("run_id")
            if run_id:
                text = format_html('{} <a href="{}">View the run</a>.', text, run_admin_url(run_id))
            self.message_user(request, text, messages.ERROR)
            return None

    def _dry_run(self, request: HttpRequest, collection: Collection, mode: Mode) -> Preview | None:
        run = self._run(request, collection, RefreshOptions(mode=mode, dry_run=True))
        if run is None:
            return None
        listed: list[RefreshEntry] = []
        quiet = unlisted = 0
        for entry in run.entries.all():
            if not (
                entry.changes or entry.status != EntryStatus.UNCHANGED or entry.update_available
            ):
                quiet += 1
            elif len(listed) < PREVIEW_ENTRIES:
                listed.append(entry)
            else:
                unlisted += 1
        # A dry run marks nothing as locked (it writes nothing), so the preview asks the artifacts.
        locked: dict[uuid.UUID | None, list[str]] = dict(
            Artifact.objects.filter(
                pk__in=[e.artifact_id for e in listed if e.artifact_id]
            ).values_list("pk", "locked_fields")
        )
        entries: list[PreviewEntry] = [
            {
                "entry": entry,
                "rows": change_rows(
                    entry.changes, locked=frozenset(locked.get(entry.artifact_id) or ())
                ),
            }
            for entry in listed
        ]
        return {
            "collection": collection,
            "run": run,
            "run_url": run_admin_url(run.pk),
            "outcome": outcome_text(run),
            "entries": entries,
            "quiet": quiet,
            "unlisted": unlisted,
        }

    def _apply(self, request: HttpRequest, collection: Collection, mode: Mode) -> None:
        run = self._run(request, collection, RefreshOptions(mode=mode, dry_run=False))
        if run is None:
            return
        level = messages.SUCCESS if run.status == RunStatus.COMPLETED else messages.WARNING
        text = format_html(
            '{} of “{}”: {}. <a href="{}">View the run</a>.',
            mode.label,
            collection,
            outcome_text(run),
            run_admin_url(run.pk),
        )
        self.message_user(request, text, level)


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "type",
        "collection",
        "source",
        "license",
        "short_sha",
        "last_refreshed_at",
    ]
    list_filter = ["type", "source_kind", "license", "collection"]
    search_fields = ["name", "title", "description", "source", "upstream_repo"]
    list_select_related = ["collection"]
    # A page counts what its filters select; counting the whole table as well, on every page,
    # costs a scan that grows with every collection.
    show_full_result_count = False
    readonly_fields = [
        "id",
        "source_kind",
        "upstream_owner",
        "upstream_repo",
        "upstream_path",
        "upstream_ref",
        "last_refreshed_at",
        "created_at",
        "updated_at",
        *MANIFEST_FIELDS,
    ]
    fieldsets = [
        (None, {"fields": ["id", "collection", "type", "name", "source"]}),
        (
            "Upstream",
            {
                "fields": [
                    "source_kind",
                    "upstream_owner",
                    "upstream_repo",
                    "upstream_path",
                    "upstream_ref",
                    "resolved_sha",
                    "content_sha",
                    "last_refreshed_at",
                ]
            },
        ),
        ("Metadata", {"fields": ["title", "description", "author", "license", "topics"]}),
        ("Yours", {"fields": ["tags", "locked_fields"]}),
        ("Content", {"classes": ["collapse"], "fields": ["content"]}),
        (
            # Kept from an imported collection.toml and written back by the export.
            "Manifest (collection.toml)",
            {"classes": ["collapse"], "fields": MANIFEST_FIELDS},
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Artifact]:
        # The main file's text can be up to 1 MiB and no list shows it; an artifact's own page
        # reads it with one query more.
        return super().get_queryset(request).defer("content")

    @admin.display(description="Commit", ordering="resolved_sha")
    def short_sha(self, obj: Artifact) -> str:
        return obj.resolved_sha[:7]
