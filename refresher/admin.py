"""Admin pages for refresh runs (read-only, with their entries and a roll back action) and the
GitHub HTTP cache.

Runs are an audit record: nobody adds, edits or deletes them here. Rolling back goes through
`rollback_run`, the same function the API uses.
"""

import json
from datetime import datetime

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from refresher.admin_links import artifact_admin_url, entry_list_url, run_admin_url, run_label
from refresher.changes import FIELDS
from refresher.entry_admin import ENTRIES_PAGE, entries_page, status_counts
from refresher.exceptions import RollbackRefused
from refresher.models import (
    GitHubAppInstallation,
    GitHubQuota,
    HttpCacheEntry,
    Mode,
    NotificationDelivery,
    RefreshRun,
    WebhookDelivery,
)
from refresher.report import change_rows, outcome_text
from refresher.rollback import RollbackReport, rollback_run


def rollback_message(report: RollbackReport) -> str:
    restored, left = report["restored"], report["left"]
    text = f"Rolled back: {restored} field{'s' if restored != 1 else ''} restored"
    if left:
        names = "; ".join(
            f"{a['artifact']} ({', '.join(sorted(a['left']))})"
            for a in report["artifacts"]
            if a["left"]
        )
        text += f", {left} left as they were because they changed since the run: {names}"
    return text + "."


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = [
        "started",
        "collection",
        "mode",
        "trigger",
        "dry_run",
        "status",
        "outcome_short",
        "duration",
        "requested_by",
        "rolled_back",
    ]
    list_display_links = ["started"]
    list_filter = [
        "collection",
        "status",
        "mode",
        "trigger",
        "dry_run",
        ("rolled_back_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["collection__name", "request_id"]
    date_hierarchy = "created_at"
    actions = ["roll_back"]
    change_form_template = "admin/refresher/refreshrun/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "collection",
                    "mode",
                    "trigger",
                    "dry_run",
                    "status",
                    "outcome",
                    "run_error",
                    "started_at",
                    "duration",
                    "requested_by",
                ]
            },
        ),
        (
            "Request and record",
            {
                "classes": ["collapse"],
                "fields": [
                    "id",
                    "request_id",
                    "chosen_fields",
                    "artifacts_chosen",
                    "background",
                    "total",
                    "created_at",
                    "finished_at",
                    "github_quota",
                ],
            },
        ),
        ("Rollback", {"fields": ["rollback_state", "rollback_summary"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RefreshRun]:
        return (
            super()
            .get_queryset(request)
            .select_related("collection", "requested_by", "rolled_back_by")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RefreshRun | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RefreshRun | None = None) -> bool:
        # The run history is the audit trail of what refreshes did to artifacts.
        return False

    def has_rollback_permission(self, request: HttpRequest) -> bool:
        # A rollback writes artifacts, so it takes the right to change them.
        return request.user.has_perm("collections_app.change_artifact")

    def get_readonly_fields(self, request: HttpRequest, obj: RefreshRun | None = None) -> list[str]:
        # Everything is shown, nothing edited; the display methods must be listed to be shown.
        return flatten_fieldsets(self.fieldsets)

    @admin.display(description="Started", ordering="created_at")
    def started(self, run: RefreshRun) -> datetime:
        return run.started_at or run.created_at

    @admin.display(description="Outcome")
    def outcome(self, run: RefreshRun) -> str:
        if run.is_active:
            return "in progress"
        return outcome_text(run)

    @admin.display(description="Outcome")
    def outcome_short(self, run: RefreshRun) -> str:
        # The list has little room: only the counts that are not zero, one per line.
        if run.is_active:
            return "in progress"
        counts = [
            (run.refreshed, "would change" if run.dry_run else "refreshed"),
            (run.unchanged, "unchanged"),
            (run.skipped, "skipped"),
            (run.error, "error" if run.error == 1 else "errors"),
        ]
        shown = [f"{n} {label}" for n, label in counts if n]
        return format_html_join(mark_safe("<br>"), "{}", ((t,) for t in shown)) or "no artifacts"

    @admin.display(description="Duration", ordering="duration_ms")
    def duration(self, run: RefreshRun) -> str:
        if run.duration_ms is None:
            return "-"
        if run.duration_ms < 1000:
            return f"{run.duration_ms} ms"
        return f"{run.duration_ms / 1000:.1f} s"

    @admin.display(description="Fields")
    def chosen_fields(self, run: RefreshRun) -> str:
        chosen = list(run.fields or ())
        return ", ".join(chosen) if chosen and set(chosen) != set(FIELDS) else "all"

    @admin.display(description="Artifacts")
    def artifacts_chosen(self, run: RefreshRun) -> str:
        parts = run.artifact_filter or {}
        if not parts:
            return "all"
        text = []
        if parts.get("type"):
            text.append(f"type {parts['type']}")
        if parts.get("name"):
            text.append(f"name matching {parts['name']}")
        if parts.get("ids"):
            text.append(f"{len(parts['ids'])} chosen by id")
        return ", ".join(text)

    @admin.display(description="GitHub quota after the run")
    def github_quota(self, run: RefreshRun) -> str:
        quota = run.rate_limit
        if not quota:
            return "-"
        return (
            f"{quota['remaining']} of {quota['limit']} requests left, resets at {quota['reset_at']}"
        )

    @admin.display(description="Rolled back", boolean=True, ordering="rolled_back_at")
    def rolled_back(self, run: RefreshRun) -> bool:
        return run.rolled_back_at is not None

    @admin.display(description="Run error")
    def run_error(self, run: RefreshRun) -> str:
        if not run.error_code:
            return "-"
        return f"{run.error_code}: {run.error_message}"

    @admin.display(description="Can be rolled back")
    def rollback_state(self, run: RefreshRun) -> str:
        if run.rolled_back_at:
            who = f" by {run.rolled_back_by}" if run.rolled_back_by_id else ""
            return f"Already rolled back on {run.rolled_back_at:%Y-%m-%d %H:%M:%S %Z}{who}."
        if run.dry_run:
            return "No: a dry run changed nothing."
        if run.mode == Mode.CHECK_ONLY:
            return "No: a check changed nothing."
        if run.is_active:
            return "Not yet: the run has not finished."
        return "Yes: use the “Roll back” action above."

    @admin.display(description="Rollback report")
    def rollback_summary(self, run: RefreshRun) -> SafeString | str:
        report = run.rollback_report
        if not report:
            return "-"
        rows = format_html_join(
            "",
            "<li>{}: restored {}; left {}</li>",
            (
                (
                    a["artifact"],
                    ", ".join(a["restored"]) or "nothing",
                    ", ".join(f"{k} ({v})" for k, v in a["left"].items()) or "nothing",
                )
                for a in report["artifacts"]
            ),
        )
        return format_html("{}<ul>{}</ul>", rollback_message(report), rows)

    @admin.action(
        description="Roll back",
        permissions=["rollback"],
        location=[admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM],
    )
    def roll_back(self, request: HttpRequest, queryset: QuerySet[RefreshRun]) -> None:
        for run in queryset.select_related("collection"):
            label = format_html(
                '<a href="{}">{} of “{}”</a>',
                run_admin_url(run.pk),
                run.get_mode_display(),
                run.collection,
            )
            try:
                report = rollback_run(run, user=request.user)
            except RollbackRefused as exc:
                self.message_user(
                    request, format_html("{}: {}", label, exc.message), messages.ERROR
                )
                continue
            self.message_user(
                request, format_html("{}: {}", label, rollback_message(report)), messages.SUCCESS
            )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, object],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: RefreshRun | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context["subtitle"] = run_label(obj)
            # One page of entries, with links to the rest: a run of thousands of artifacts
            # must not render thousands of rows.
            page = entries_page(obj, request)
            context["entries_page"] = page
            context["entries_page_parameter"] = ENTRIES_PAGE
            context["entries_url"] = entry_list_url(obj.pk)
            context["status_counts"] = status_counts(obj)
            context["entries"] = [
                {
                    "entry": entry,
                    "rows": change_rows(entry.changes),
                    "artifact_url": artifact_admin_url(entry),
                }
                for entry in page.object_list
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(HttpCacheEntry)
class HttpCacheEntryAdmin(admin.ModelAdmin):
    """What the GitHub client has cached. Deleting an entry is safe: it is fetched again."""

    list_display = ["key", "immutable", "fetched_at", "etag"]
    list_filter = ["immutable", "fetched_at"]
    search_fields = ["key"]
    date_hierarchy = "fetched_at"
    readonly_fields = fields = (
        "key",
        "immutable",
        "etag",
        "last_modified",
        "fetched_at",
        "pretty_body",
    )

    # The cache grows with every repository read: count only what the filters select.
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[HttpCacheEntry]:
        # A body can be a whole repository's tree, megabytes of JSON, and no list shows it; an
        # entry's own page reads it with one query more.
        return super().get_queryset(request).defer("body")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: HttpCacheEntry | None = None
    ) -> bool:
        return False

    @admin.display(description="Body")
    def pretty_body(self, entry: HttpCacheEntry) -> SafeString:
        text = json.dumps(entry.body, indent=2, sort_keys=True)
        limit = 20_000
        if len(text) > limit:
            text = text[:limit] + f"\n… ({len(text) - limit:,} more characters)"
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


@admin.register(GitHubQuota)
class GitHubQuotaAdmin(admin.ModelAdmin):
    """The GitHub quota every process shares: what is left per resource, and any pause.

    Read-only but for one action: lifting a pause early (after GitHub support lifted a block,
    say). Deleting the row only forgets what is known; the next answer from GitHub writes it again.
    """

    list_display = ["api_url", "kind", "account", "paused_until", "strikes", "updated_at"]
    list_filter = ["kind"]
    readonly_fields = fields = (
        "api_url",
        "kind",
        "account",
        "resources",
        "paused_until",
        "pause_seconds",
        "strikes",
        "updated_at",
    )
    actions = ["lift_pause"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: GitHubQuota | None = None) -> bool:
        # Nothing here is edited by hand; the change permission gates the one action that
        # changes what every process does (lifting a pause), not a form.
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description="Lift the secondary-limit pause now", permissions=["change"])
    def lift_pause(self, request: HttpRequest, queryset: QuerySet[GitHubQuota]) -> None:
        lifted = queryset.exclude(paused_until=None).update(
            paused_until=None, strikes=0, updated_at=timezone.now()
        )
        self.message_user(request, f"Lifted {lifted} pause(s).", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record nobody edits here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(GitHubAppInstallation)
class GitHubAppInstallationAdmin(ReadOnlyAdmin):
    """Where each App credential was found installed, and until when its kept token lasts.

    The token itself is never shown; deleting a row makes the next run look the installation
    up and mint a new token.
    """

    list_display = ["credential", "installation_id", "account", "expires_at", "updated_at"]
    search_fields = ["account", "credential__name"]
    readonly_fields = fields = ("credential", "installation_id", "account", "expires_at")


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    """Every notification sent for a scheduled or push run, with each attempt and its outcome."""

    list_display = ["created_at", "collection", "status", "attempt_count", "response_status"]
    list_filter = ["status", "collection"]
    list_select_related = ["collection"]
    date_hierarchy = "created_at"
    search_fields = ["id", "collection__name"]
    fields = readonly_fields = (
        "id",
        "collection",
        "run_link",
        "url",
        "status",
        "response_status",
        "error",
        "attempt_log",
        "created_at",
        "next_attempt_at",
        "finished_at",
        "pretty_body",
    )

    @admin.display(description="Attempts")
    def attempt_count(self, delivery: NotificationDelivery) -> int:
        return len(delivery.attempts or ())

    @admin.display(description="Run")
    def run_link(self, delivery: NotificationDelivery) -> SafeString:
        return format_html('<a href="{}">{}</a>', run_admin_url(delivery.run_id), delivery.run_id)

    @admin.display(description="Attempt log")
    def attempt_log(self, delivery: NotificationDelivery) -> SafeString | str:
        if not delivery.attempts:
            return "-"
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                "<li>{}: {}</li>",
                (
                    (a.get("at"), a.get("status") or a.get("error") or "-")
                    for a in delivery.attempts
                ),
            ),
        )

    @admin.display(description="Body sent")
    def pretty_body(self, delivery: NotificationDelivery) -> SafeString:
        try:
            text = json.dumps(json.loads(delivery.body), indent=2, ensure_ascii=False)
        except ValueError:
            text = delivery.body
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """GitHub webhook deliveries handled, and the runs each push started."""

    list_display = ["received_at", "event", "repository", "ref", "run_count", "delivery_id"]
    list_filter = ["event"]
    search_fields = ["delivery_id", "repository"]
    date_hierarchy = "received_at"
    fields = readonly_fields = (
        "delivery_id",
        "event",
        "repository",
        "ref",
        "runs",
        "deferred",
        "received_at",
    )

    @admin.display(description="Runs")
    def run_count(self, delivery: WebhookDelivery) -> int:
        return len(delivery.runs or ())
