"""The record of every refresh run, and the HTTP cache the GitHub reads go through."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Mode(models.TextChoices):
    METADATA_ONLY = "metadata_only", "Refresh metadata"
    CHECK_ONLY = "check_only", "Check for updates"
    SYNC = "sync", "Sync with upstream"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class Trigger(models.TextChoices):
    """Which door started a run."""

    API = "api", "API"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Command line"
    SCHEDULE = "schedule", "Schedule"
    PUSH = "push", "GitHub push"


class FindingsThreshold(models.TextChoices):
    """From which severity of findings a sync holds back an artifact's new content."""

    HIGH = "high", "High findings"
    MEDIUM = "medium", "Medium or high findings"
    NONE = "none", "Nothing"


# The longest cooldown a collection may ask for: a year. Longer means "never by itself", which
# is what `review_updates` says more plainly.
MAX_UPDATE_AGE_HOURS = 24 * 365


class EntryStatus(models.TextChoices):
    REFRESHED = "refreshed", "Refreshed"
    UNCHANGED = "unchanged", "Unchanged"
    SKIPPED = "skipped", "Skipped"
    ERROR = "error", "Error"


class EntryErrorCode(models.TextChoices):
    """Why one artifact could not be refreshed (an entry's `error.code`)."""

    INVALID_SOURCE = "invalid_source", "The stored source is not a valid spec"
    UPSTREAM_NOT_FOUND = "upstream_not_found", "Repository, ref or path not found upstream"
    UPSTREAM_FORBIDDEN = "upstream_forbidden", "Upstream refused access"
    UPSTREAM_UNAUTHORIZED = "upstream_unauthorized", "Upstream refused the credential (401)"
    CREDENTIALS_REQUIRED = (
        "credentials_required",
        "A private repository the collection has no credential of its own for",
    )
    RATE_LIMITED = "rate_limited", "GitHub's rate limit stopped the read"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable", "Upstream could not be reached"
    INVALID_METADATA = "invalid_metadata", "The main file could not be parsed"
    FILE_TOO_LARGE = "file_too_large", "The main file is over 1 MiB"
    MODIFIED_DURING_REFRESH = "modified_during_refresh", "Edited while the run read upstream"


class RefreshRun(models.Model):
    """One refresh of a collection, dry runs and checks included, with its counts and outcome.

    At most one run per collection is queued or running at a time; the database enforces it with a
    partial unique constraint, so two web processes racing to start a run cannot both win.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    collection = models.ForeignKey(
        "collections_app.Collection", on_delete=models.CASCADE, related_name="refresh_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="refresh_runs",
    )
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.METADATA_ONLY)
    dry_run = models.BooleanField(default=False)
    fields = models.JSONField(default=list, blank=True)
    artifact_filter = models.JSONField(default=dict, blank=True)
    background = models.BooleanField(default=False)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.API)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)

    total = models.PositiveIntegerField(default=0)
    refreshed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    error = models.PositiveIntegerField(default=0)
    updates_available = models.PositiveIntegerField(default=0)
    # Artifacts done so far: moves while a background run works, so its page shows progress.
    processed = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    rate_limit = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")

    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rollback_report = models.JSONField(null=True, blank=True)
    # An approval reads each artifact at the commit that was reviewed ({artifact id: commit}),
    # never at a newer head; `accept_findings` takes content whatever its findings.
    review_commits = models.JSONField(default=dict, blank=True)
    accept_findings = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection"],
                condition=models.Q(status__in=["queued", "running"]),
                name="one_active_run_per_collection",
            ),
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="idempotency_key_unique_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["collection", "-created_at"], name="run_collection_recent"),
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} of {self.collection_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class RefreshEntry(models.Model):
    """What one run found and did for one artifact: per-field old/new values and the outcome."""

    run = models.ForeignKey(RefreshRun, on_delete=models.CASCADE, related_name="entries")
    artifact = models.ForeignKey(
        "collections_app.Artifact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="refresh_entries",
    )
    artifact_key = models.CharField(max_length=220)
    status = models.CharField(max_length=16, choices=EntryStatus.choices)
    changes = models.JSONField(default=dict, blank=True)
    applied = models.BooleanField(default=False)
    reason = models.CharField(max_length=64, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    current_sha = models.CharField(max_length=40, blank=True, default="")
    upstream_sha = models.CharField(max_length=40, blank=True, default="")
    upstream_content_sha = models.CharField(max_length=40, blank=True, default="")
    update_available = models.BooleanField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # More for the owner, e.g. {"renamed_to": "owner/repo"} when GitHub moved the repository.
    details = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["run", "artifact_key"]
        verbose_name_plural = "refresh entries"
        indexes = [
            models.Index(fields=["artifact", "-id"], name="entry_artifact_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.artifact_key}: {self.status}"


class ProposalState(models.TextChoices):
    PENDING = "pending", "Waiting for review"
    REJECTED = "rejected", "Rejected"


class PendingUpdate(models.Model):
    """A content update upstream offers for one artifact, and what a reviewer needs to judge it.

    One row per artifact. A run that finds new content it does not take records it here (with
    the commits in between, the diff of the main file, the files changed and the findings); a
    run that takes it, or finds the artifact current again, removes it. A rejected row stays,
    so the same content (`upstream_content_sha`) is not proposed again; new content replaces it.
    """

    artifact = models.OneToOneField(
        "collections_app.Artifact",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="pending_update",
    )
    collection = models.ForeignKey(
        "collections_app.Collection", on_delete=models.CASCADE, related_name="pending_updates"
    )
    state = models.CharField(
        max_length=16, choices=ProposalState.choices, default=ProposalState.PENDING
    )
    # What the artifact holds (when the update was found) and what upstream offers.
    current_sha = models.CharField(max_length=40, blank=True, default="")
    current_content_sha = models.CharField(max_length=40, blank=True, default="")
    upstream_sha = models.CharField(max_length=40)
    upstream_content_sha = models.CharField(max_length=40, blank=True, default="")
    main_file = models.CharField(max_length=500, blank=True, default="")
    found_at = models.DateTimeField()
    run = models.ForeignKey(
        RefreshRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    commits = models.JSONField(default=list, blank=True)
    commits_truncated = models.BooleanField(default=False)
    diff = models.TextField(blank=True, default="")
    diff_truncated = models.BooleanField(default=False)
    files = models.JSONField(default=list, blank=True)
    files_truncated = models.BooleanField(default=False)
    findings = models.JSONField(default=list, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["collection", "found_at"]
        indexes = [
            models.Index(fields=["collection", "state", "found_at"], name="pending_update_list"),
        ]

    def __str__(self) -> str:
        return f"update of {self.artifact_id} to {self.upstream_sha[:7]} ({self.state})"


class HttpCacheEntry(models.Model):
    """A cached GitHub answer, keyed by request path.

    Answers addressed by SHA (trees, blobs, tag objects) never change and are served from here
    without asking again; the others are revalidated with their ETag, which GitHub answers with a
    free 304 when nothing changed.
    """

    key = models.CharField(max_length=700, unique=True)
    etag = models.CharField(max_length=200, blank=True, default="")
    last_modified = models.CharField(max_length=100, blank=True, default="")
    immutable = models.BooleanField(default=False)
    body = models.JSONField(null=True)
    fetched_at = models.DateTimeField()
    # When a refresh last loaded the entry (kept to the day, so touching it costs a write only
    # once a day): the worker prunes entries unused for HTTP_CACHE_MAX_AGE_DAYS.
    used_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "HTTP cache entry"
        verbose_name_plural = "HTTP cache entries"

    def __str__(self) -> str:
        return self.key


class WorkerHeartbeat(models.Model):
    """A task worker's latest sign of life, one row per worker process.

    Each `manage.py db_worker` writes its row every WORKER_HEARTBEAT_SECONDS; `/healthz` reports
    how long ago the freshest one was written, which tells an operator whether background runs
    can make progress at all.
    """

    worker = models.CharField(max_length=255, unique=True, help_text="host:pid")
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return self.worker


class GitHubQuota(models.Model):
    """The last known GitHub rate-limit state of one account, shared by every process.

    An account is what GitHub counts requests against: the site's token, a user's token, or an
    App installation (each has its own hour).

    Written by runs when GitHub reports something others must know (a secondary-limit pause, an
    exhausted resource) and at the end of their reads; read at the start of every run and before
    every wave of requests. `account` is a fingerprint of the API URL and the token (or the
    installation's id), never the token itself.
    """

    account = models.CharField(max_length=64, unique=True)
    # Whose quota: the site's own token, a user's token, or a GitHub App installation's.
    kind = models.CharField(max_length=16, blank=True, default="site")
    api_url = models.CharField(max_length=300, blank=True, default="")
    # {resource: {"limit": int, "remaining": int, "reset_at": ISO 8601}} per GitHub resource.
    resources = models.JSONField(default=dict, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_seconds = models.FloatField(default=0.0)
    # Secondary limits met in a row without a success: a pause without Retry-After doubles.
    strikes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "GitHub quota"

    def __str__(self) -> str:
        return f"GitHub quota at {self.api_url or self.account}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused"


class NotificationDelivery(models.Model):
    """One notification of a finished run to the collection's `notify_url`, and how it went.

    `id` is the `X-SkillMeat-Delivery` header. The body is stored as sent, so every attempt sends
    the same bytes under the same signature. `attempts` lists each try: when, and the HTTP status
    or the error.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(RefreshRun, on_delete=models.CASCADE, related_name="notifications")
    collection = models.ForeignKey(
        "collections_app.Collection", on_delete=models.CASCADE, related_name="notifications"
    )
    url = models.CharField(max_length=2000)
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.JSONField(default=list, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "notification deliveries"

    def __str__(self) -> str:
        return f"notification {self.id} ({self.status})"


class WebhookDelivery(models.Model):
    """A GitHub webhook delivery we handled; its id is unique, so a redelivery does nothing."""

    delivery_id = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=64)
    repository = models.CharField(max_length=200, blank=True, default="")
    ref = models.CharField(max_length=300, blank=True, default="")
    runs = models.JSONField(default=list, blank=True)
    deferred = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class GitHubAppInstallation(models.Model):
    """An installation of a credential's GitHub App, and its latest access token.

    Runs find the installation that covers a repository's owner once and keep it here, with the
    installation token minted for it (encrypted like every secret) until five minutes before it
    expires, so every process shares one token per installation instead of minting its own.
    """

    credential = models.ForeignKey(
        "collections_app.Credential", on_delete=models.CASCADE, related_name="installations"
    )
    installation_id = models.PositiveBigIntegerField()
    # The user or organisation the app is installed on (lower-cased login).
    account = models.CharField(max_length=100)
    token_encrypted = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "GitHub App installation"
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "installation_id"], name="installation_once_per_credential"
            )
        ]
        indexes = [models.Index(fields=["credential", "account"], name="installation_account")]

    def __str__(self) -> str:
        return f"installation {self.installation_id} on {self.account}"
