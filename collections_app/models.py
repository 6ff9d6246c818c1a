"""Collections of Claude Code artifacts and the artifacts themselves (SPEC section 2)."""

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from collections_app.validators import (
    validate_name_characters,
    validate_notify_url,
    validate_refresh_schedule,
)
from refresher.exceptions import InvalidSchedule, InvalidSource
from refresher.models import MAX_UPDATE_AGE_HOURS, FindingsThreshold, Mode
from refresher.schedules import next_slot, normalize
from refresher.sources import Source, SourceKind, parse_source

ARTIFACT_NAME_MAX_LENGTH = 200
SOURCE_COLUMNS = (
    "source_kind",
    "upstream_owner",
    "upstream_repo",
    "upstream_path",
    "upstream_ref",
)


class Origin(models.TextChoices):
    """Where the single-user tool says an artifact came from (manifest `origin`)."""

    LOCAL = "local", "Local"
    GITHUB = "github", "GitHub"
    MARKETPLACE = "marketplace", "Marketplace"


class ArtifactType(models.TextChoices):
    SKILL = "skill", "Skill"
    COMMAND = "command", "Command"
    AGENT = "agent", "Agent"
    HOOK = "hook", "Hook"
    MCP = "mcp", "MCP server"


def validate_artifact_name(value: str) -> None:
    if not value or value != value.strip():
        raise ValidationError("A name must not be empty or start or end with spaces.")
    if "/" in value or "\\" in value:
        raise ValidationError("A name must not contain '/' or '\\'.")
    if ".." in value:
        raise ValidationError("A name must not contain '..'.")
    if value.startswith("."):
        raise ValidationError("A name must not start with '.'.")
    # Names also come from upstream frontmatter (discovery), where YAML can spell anything.
    validate_name_characters(value)


class Collection(models.Model):
    """A user's named set of artifacts, refreshed together.

    Besides refreshes people ask for, a collection can refresh itself: on a cron schedule, when
    GitHub reports a push to one of its artifacts' repositories, and tell a chat about what
    those runs found (SPEC 13).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections"
    )
    name = models.CharField(max_length=200, validators=[validate_name_characters])
    description = models.TextField(blank=True, default="")

    auto_refresh_mode = models.CharField(
        max_length=16,
        choices=Mode.choices,
        default=Mode.CHECK_ONLY,
        help_text="The mode of scheduled and push-triggered refreshes.",
    )
    refresh_schedule = models.CharField(
        max_length=100,
        blank=True,
        default="",
        validators=[validate_refresh_schedule],
        help_text="Five cron fields in UTC, or @hourly, @daily, @weekly; empty = no schedule.",
    )
    # The next due slot; moved forward by the worker that runs it (compare-and-swap).
    next_refresh_at = models.DateTimeField(null=True, blank=True, editable=False)
    refresh_on_push = models.BooleanField(
        default=False, help_text="Refresh when GitHub reports a push to an artifact's source."
    )
    notify_url = models.CharField(
        max_length=2000,
        blank=True,
        default="",
        validators=[validate_notify_url],
        help_text="https URL that gets a JSON POST when a scheduled or push refresh finds "
        "something; empty = no notifications.",
    )
    notify_secret = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Signs notifications (X-SkillMeat-Signature-256); empty = unsigned.",
    )
    # Reviewing updates (SPEC 17): site settings, not part of the collection.toml manifest.
    review_updates = models.BooleanField(
        default=False,
        help_text="Content updates found by scheduled and push refreshes wait for approval "
        "instead of being applied; metadata changes still apply when the mode writes.",
    )
    min_update_age_hours = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(MAX_UPDATE_AGE_HOURS)],
        help_text="An upstream commit younger than this many hours (its committer date) is "
        "neither proposed nor taken yet; 0 = no cooldown.",
    )
    block_findings = models.CharField(
        max_length=8,
        choices=FindingsThreshold.choices,
        default=FindingsThreshold.NONE,
        help_text="A sync does not take content with findings of this severity or worse "
        "unless the request accepts them.",
    )
    # Artifacts of pushes that found the collection busy; the end of the active run starts them.
    pending_push_ids = models.JSONField(default=list, blank=True, editable=False)
    # What the collection's runs read private sources with (SPEC 16), in the owner's order: where
    # two credentials of one kind could read a repository, the first listed is used.
    credentials: "models.ManyToManyField[Credential, CollectionCredential]" = (
        models.ManyToManyField(
            "Credential", through="CollectionCredential", blank=True, related_name="collections"
        )
    )
    # The schedule as last read or saved (see save()); not a column.
    _loaded_schedule: str | None = None

    # What a `collection.toml` carries beyond the columns above, so an export gives back what
    # an import took in: the manifest's version, the `[collection]` table's unknown keys, and
    # the document's unknown top-level keys.
    version = models.CharField(max_length=100, blank=True, default="")
    manifest_extra = models.JSONField(default=dict, blank=True)
    manifest_document_extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="collection_name_unique_per_owner"
            ),
            models.CheckConstraint(
                condition=models.Q(block_findings__in=FindingsThreshold.values),
                name="collection_block_findings_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(min_update_age_hours__lte=MAX_UPDATE_AGE_HOURS),
                name="collection_min_update_age_bounded",
            ),
        ]
        indexes = [
            models.Index(fields=["next_refresh_at"], name="collection_next_refresh"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.refresh_schedule = normalize(self.refresh_schedule)
        self.notify_url = self.notify_url.strip()
        changed = self.refresh_schedule != getattr(self, "_loaded_schedule", None)
        if not self.refresh_schedule:
            self.next_refresh_at = None
        elif changed or self.next_refresh_at is None:
            try:
                self.next_refresh_at = next_slot(self.refresh_schedule, timezone.now())
            except InvalidSchedule:
                # Written past validation (a shell, a data migration): never scheduled.
                self.next_refresh_at = None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "refresh_schedule" in update_fields:
            kwargs["update_fields"] = {*update_fields, "next_refresh_at"}
        elif update_fields is None and not self._state.adding and not kwargs.get("force_insert"):
            # An edit (API, admin) must not write back the worker-owned columns it read: the
            # scheduler moves `next_refresh_at` and the webhook adds `pending_push_ids` while
            # the edit is in flight, and writing the stale copies would rerun a slot or lose a
            # push. The slot is written only when the schedule itself changed.
            owned = {"pending_push_ids"} | (set() if changed else {"next_refresh_at"})
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in owned
            ]
        super().save(*args, **kwargs)
        self._loaded_schedule = self.refresh_schedule

    @classmethod
    def from_db(cls, *args: Any, **kwargs: Any) -> "Collection":
        instance = super().from_db(*args, **kwargs)
        # What the schedule was when read, so save() knows whether the next slot must move.
        instance._loaded_schedule = instance.__dict__.get("refresh_schedule")
        return instance


class Artifact(models.Model):
    """One skill, command, agent, hook or MCP config, with where it comes from upstream.

    `source` is what the user wrote; the `upstream_*` fields are its parsed form, kept in step by
    `set_source`. Metadata fields are refreshed from upstream; `tags` belong to the user alone.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="artifacts")
    type = models.CharField(max_length=16, choices=ArtifactType.choices)
    name = models.CharField(
        max_length=ARTIFACT_NAME_MAX_LENGTH, validators=[validate_artifact_name]
    )
    source = models.CharField(max_length=500, blank=True, default="")
    source_kind = models.CharField(
        max_length=16,
        choices=[(k.value, k.value) for k in SourceKind],
        default=SourceKind.NONE.value,
        editable=False,
    )
    upstream_owner = models.CharField(max_length=39, blank=True, default="", editable=False)
    upstream_repo = models.CharField(max_length=100, blank=True, default="", editable=False)
    upstream_path = models.CharField(max_length=500, blank=True, default="", editable=False)
    upstream_ref = models.CharField(max_length=255, blank=True, default="", editable=False)
    resolved_sha = models.CharField(max_length=40, blank=True, default="")
    content_sha = models.CharField(max_length=40, blank=True, default="")

    title = models.CharField(max_length=300, blank=True, default="")
    description = models.TextField(blank=True, default="")
    author = models.CharField(max_length=200, blank=True, default="")
    license = models.CharField(max_length=100, blank=True, default="")
    topics = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    locked_fields = models.JSONField(default=list, blank=True)
    content = models.TextField(blank=True, default="")

    # Fields of the single-user tool's manifest (`collection.toml`) that the refresher does not
    # use but an export must give back. `manifest_upstream` is the `upstream` as written there;
    # `source` is derived from it and `version_spec`.
    path = models.CharField(max_length=500, blank=True, default="")
    origin = models.CharField(max_length=16, blank=True, default="", choices=Origin.choices)
    origin_source = models.CharField(max_length=200, blank=True, default="")
    manifest_upstream = models.CharField(max_length=500, blank=True, default="")
    version_spec = models.CharField(max_length=255, blank=True, default="")
    resolved_version = models.CharField(max_length=200, blank=True, default="")
    manifest_uuid = models.CharField(max_length=64, blank=True, default="")
    metadata_version = models.CharField(max_length=100, blank=True, default="")
    dependencies = models.JSONField(default=list, blank=True)
    manifest_extra = models.JSONField(default=dict, blank=True)
    metadata_extra = models.JSONField(default=dict, blank=True)

    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["type", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "type", "name"], name="artifact_name_unique_per_type"
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=ArtifactType.values), name="artifact_type_valid"
            ),
        ]
        # (collection, type, name) is indexed by its unique constraint.
        indexes = [
            models.Index(fields=["upstream_owner", "upstream_repo"], name="artifact_upstream_repo"),
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The parsed columns always follow `source`, whichever door the edit came through. A stored
        # spec that no longer parses keeps kind "github" with empty parts, so a refresh reports it
        # as `invalid_source` instead of silently skipping it.
        try:
            self.set_source(self.source)
        except InvalidSource:
            self.source_kind = SourceKind.GITHUB.value
            self.upstream_owner = self.upstream_repo = self.upstream_path = self.upstream_ref = ""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "source" in update_fields:
            kwargs["update_fields"] = {*update_fields, *SOURCE_COLUMNS}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        try:
            parse_source(self.source, strict=True)
        except InvalidSource as exc:
            raise ValidationError({"source": str(exc)}) from None

    @property
    def key(self) -> str:
        return f"{self.type}:{self.name}"

    @property
    def parsed_source(self) -> Source:
        if self.source_kind == SourceKind.GIT:
            try:
                return parse_source(self.source)
            except InvalidSource:
                return Source(SourceKind.UNSUPPORTED)
        if self.source_kind != SourceKind.GITHUB:
            return Source(SourceKind(self.source_kind))
        return Source(
            SourceKind.GITHUB,
            owner=self.upstream_owner,
            repo=self.upstream_repo,
            path=self.upstream_path,
            ref=self.upstream_ref,
        )

    def set_source(self, text: str) -> None:
        """Store `text` and its parsed form; raises InvalidSource for a malformed GitHub spec."""
        parsed = parse_source(text)
        self.source = text.strip()
        self.source_kind = parsed.kind.value
        # A git source's owner segment (a group, a directory) may be longer than a GitHub login;
        # the columns index the repository, `source` keeps the whole spec.
        self.upstream_owner = parsed.owner[:39]
        self.upstream_repo = parsed.repo[:100]
        self.upstream_path = parsed.path
        self.upstream_ref = parsed.ref


class RequestCount(models.Model):
    """Requests one client made in one window of one throttle scope (`collections_app.throttling`).

    A row per (scope, client, window), counted up by a single `INSERT ... ON CONFLICT DO
    UPDATE` so that concurrent requests can never read the same count (a cache's get-then-set
    can, and lets a burst through).
    """

    scope = models.CharField(max_length=32)
    client = models.CharField(max_length=100)
    window_start = models.BigIntegerField(help_text="Seconds since the epoch.")
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "client", "window_start"], name="request_count_one_row_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.client} @{self.window_start}: {self.hits}"


class CredentialKind(models.TextChoices):
    GITHUB_TOKEN = "github_token", "GitHub token"
    GITHUB_APP = "github_app", "GitHub App"
    GIT_BASIC = "git_basic", "Git host login"


class Credential(models.Model):
    """A secret its owner holds for reading private sources (SPEC 16).

    A GitHub token, a GitHub App (its id and private key; installation tokens are minted from it),
    or a username and password for one https git host. The secret is kept encrypted under
    CREDENTIAL_KEYS (`secret_encrypted`, a Fernet token) and never leaves the site: answers,
    pages and logs show its `fingerprint` instead. Only collections of the same owner read with
    it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credentials"
    )
    name = models.CharField(max_length=200, validators=[validate_name_characters])
    kind = models.CharField(max_length=16, choices=CredentialKind.choices)
    # git_basic: the host (and port) git sources must name for it to be sent; GitHub kinds: the
    # GitHub web host the site was configured for when the credential was stored.
    host = models.CharField(max_length=300, blank=True, default="")
    username = models.CharField(max_length=200, blank=True, default="")
    app_id = models.PositiveBigIntegerField(null=True, blank=True)
    installation_id = models.PositiveBigIntegerField(null=True, blank=True)
    secret_encrypted = models.TextField(editable=False)
    fingerprint = models.CharField(max_length=100, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="credential_name_unique_per_owner"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=CredentialKind.values), name="credential_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class CollectionCredential(models.Model):
    """A credential a collection reads with, at its place in the collection's list."""

    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, related_name="credential_links"
    )
    credential = models.ForeignKey(
        Credential, on_delete=models.CASCADE, related_name="collection_links"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["collection", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "credential"], name="collection_credential_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.collection_id} reads with {self.credential_id}"

    def clean(self) -> None:
        # A collection reads only with credentials its own owner holds (no confused deputy).
        if self.collection_id is None or self.credential_id is None:
            return
        if self.credential.owner_id != self.collection.owner_id:
            raise ValidationError(
                {"credential": "Only credentials of the collection's owner can be listed."}
            )


class ShareLink(models.Model):
    """A secret URL that lets Claude Code read one collection's marketplace manifest (SPEC 15).

    Claude Code cannot send an API token, so a team member adds the marketplace by a URL holding a
    random token. Only the token's SHA-256 is kept: the URL is shown once, when the link is made.
    Revoking deletes the row, so the token finds nothing from then on. A link reads the manifest
    of its collection and nothing else.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="share_links")
    label = models.CharField(
        max_length=200, blank=True, default="", validators=[validate_name_characters]
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Written at most once a minute per link, so reads stay reads.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["collection", "created_at", "id"]

    def __str__(self) -> str:
        return self.label or f"share link {str(self.id)[:8]}"
