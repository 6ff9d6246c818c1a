"""The refresh API's request and response shapes: RefreshRequest, RefreshResponse (SPEC 6)."""

import copy
import uuid
from collections.abc import Iterable
from typing import TypedDict

from django.db.models import Manager
from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.utils import html

from collections_app.fields import SPACE_CLASS, StrictBooleanField, StrictCharField, StrictUUIDField
from collections_app.models import ArtifactType
from refresher.changes import FIELDS
from refresher.exceptions import InvalidRequest
from refresher.json_types import JSON
from refresher.models import (
    EntryErrorCode,
    EntryStatus,
    Mode,
    RefreshEntry,
    RefreshRun,
    RunStatus,
    Trigger,
)
from refresher.options import ArtifactFilter, RefreshOptions, normalize_fields


class StrictKeysSerializer(serializers.Serializer):
    """Unknown keys are an error: a typo must not silently widen or change a refresh."""

    # Makes the request schema say `additionalProperties: false` (skillmeat_site.schema).
    rejects_unknown_keys = True

    def to_internal_value(self, data: object) -> dict[str, object]:
        if isinstance(data, dict):
            keys = set(data)
            if html.is_html_input(data):
                # Form fields of a nested serializer are posted as `artifact_filter.type`.
                keys = {key.split(".", 1)[0] for key in keys} - {"csrfmiddlewaretoken"}
            unknown = sorted(keys - set(self.fields))
            if unknown:
                valid = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {key: [f"Unknown key; valid keys are {valid}."] for key in unknown}
                )
        return super().to_internal_value(data)


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


# A field name in any case, with spaces around it: what normalize_fields accepts, as a pattern.
FIELD_NAME_PATTERN = (
    f"^[{SPACE_CLASS}]*(?:" + "|".join(_any_case(f) for f in FIELDS) + f")[{SPACE_CLASS}]*$"
)


@extend_schema_field(
    {
        "type": "string",
        "pattern": FIELD_NAME_PATTERN,
        "description": "One of " + ", ".join(FIELDS) + " (any case).",
    }
)
class FieldNameField(StrictCharField):
    """A metadata field's name; normalize_fields checks it against the known ones."""


class ArtifactFilterSerializer(StrictKeysSerializer):
    type = serializers.ChoiceField(choices=ArtifactType.choices, required=False)
    name = StrictCharField(
        required=False, max_length=200, help_text="fnmatch glob on the artifact name, e.g. `pdf*`."
    )
    ids = serializers.ListField(
        child=StrictUUIDField(),
        required=False,
        allow_empty=False,
        min_length=1,
        max_length=10000,
        help_text="Artifact ids; leave the key out to select all.",
    )

    class Meta:
        ref_name = "ArtifactFilter"


class RefreshRequestSerializer(StrictKeysSerializer):
    """What to refresh and how. Every key is optional; `{}` means a metadata refresh of all."""

    mode = serializers.ChoiceField(choices=Mode.choices, default=Mode.METADATA_ONLY)
    dry_run = StrictBooleanField(default=False)
    fields = serializers.ListField(  # type: ignore[assignment]  # a field named "fields"
        child=FieldNameField(),
        allow_null=True,
        required=False,
        help_text=f"Subset of {', '.join(FIELDS)}; null or [] means all.",
    )
    artifact_filter = ArtifactFilterSerializer(required=False, allow_null=True)
    background = StrictBooleanField(default=False)

    class Meta:
        # Request components get a "Request" suffix (COMPONENT_SPLIT_REQUEST), which makes the
        # schema name of this one "RefreshRequest".
        ref_name = "Refresh"

    def validate_fields(self, value: list[str] | None) -> tuple[str, ...]:
        try:
            return normalize_fields(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_options(self) -> RefreshOptions:
        data = self.validated_data
        return RefreshOptions(
            mode=data["mode"],
            dry_run=data["dry_run"],
            fields=data.get("fields") or FIELDS,
            artifact_filter=ArtifactFilter.from_dict(data.get("artifact_filter")),
            background=data["background"],
        )


class EntryErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=EntryErrorCode.choices)
    message = serializers.CharField()

    class Meta:
        ref_name = "RefreshEntryError"


class FieldChangeSerializer(serializers.Serializer):
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)
    applied = serializers.BooleanField()

    class Meta:
        ref_name = "FieldChange"


class FieldChangeData(TypedDict):
    old: JSON
    new: JSON
    applied: bool


class StoredChange(TypedDict, total=False):
    """A field change as RefreshEntry.changes keeps it (refresher.changes.FieldChange)."""

    old: JSON
    new: JSON
    applied: bool


class EntryErrorData(TypedDict):
    code: str
    message: str


class EntryData(TypedDict):
    artifact_id: uuid.UUID | None
    artifact: str
    status: str
    changes: dict[str, FieldChangeData | None]
    applied: bool
    reason: str
    error: EntryErrorData | None
    current_sha: str
    upstream_sha: str
    update_available: bool | None
    duration_ms: int
    details: JSON


# What an entry's answer is made of, in the order entry_data() takes it.
ENTRY_COLUMNS = (
    "artifact_id",
    "artifact_key",
    "status",
    "changes",
    "applied",
    "reason",
    "error_code",
    "error_message",
    "current_sha",
    "upstream_sha",
    "update_available",
    "duration_ms",
    "details",
)
EntryRow = tuple[
    uuid.UUID | None,
    str,
    str,
    dict[str, StoredChange | None],
    bool,
    str,
    str,
    str,
    str,
    str,
    bool | None,
    int,
    JSON,
]


def _change_data(change: StoredChange | None) -> FieldChangeData | None:
    if change is None:
        return None
    # Always says whether it was applied (a KeyError otherwise, as from the serializer field).
    return {"old": change.get("old"), "new": change.get("new"), "applied": change["applied"]}


def entry_data(row: EntryRow) -> EntryData:
    """One entry as RefreshEntrySerializer's fields answer it, from its ENTRY_COLUMNS.

    The answer of a large refresh is mostly its entries. Passing each of their values through
    its serializer field costs more than the rest of the answer; this gives the same data
    directly (`tests/api/test_refresh_answer.py` holds the two to each other).
    """
    (artifact_id, key, status, changes, applied, reason, code, message) = row[:8]
    (current_sha, upstream_sha, update_available, duration_ms, details) = row[8:]
    return {
        "artifact_id": artifact_id,
        "artifact": str(key),
        "status": str(status),
        "changes": {str(name): _change_data(change) for name, change in changes.items()},
        "applied": applied,
        "reason": str(reason),
        "error": {"code": code, "message": message} if code else None,
        "current_sha": str(current_sha),
        "upstream_sha": str(upstream_sha),
        "update_available": update_available,
        "duration_ms": int(duration_ms),
        "details": details,
    }


def entry_row(entry: RefreshEntry) -> EntryRow:
    return (
        entry.artifact_id,
        entry.artifact_key,
        entry.status,
        entry.changes,
        entry.applied,
        entry.reason,
        entry.error_code,
        entry.error_message,
        entry.current_sha,
        entry.upstream_sha,
        entry.update_available,
        entry.duration_ms,
        entry.details,
    )


class RefreshEntryListSerializer(serializers.ListSerializer[RefreshEntry]):
    """A run's entries, read as plain rows in one query (no model instance per entry)."""

    def to_representation(  # type: ignore[override]
        self, data: Manager[RefreshEntry] | Iterable[RefreshEntry]
    ) -> list[EntryData]:
        if isinstance(data, Manager):
            rows: Iterable[EntryRow] = data.values_list(*ENTRY_COLUMNS)
        else:
            rows = (entry_row(entry) for entry in data)
        return [entry_data(row) for row in rows]


class RefreshEntrySerializer(serializers.ModelSerializer[RefreshEntry]):
    artifact = serializers.CharField(source="artifact_key")
    status = serializers.ChoiceField(choices=EntryStatus.choices)
    changes = serializers.DictField(
        child=FieldChangeSerializer(),
        help_text="Per field: old and new value and whether it was written. In sync mode "
        "`content` holds {text, content_sha, resolved_sha} before and after.",
    )
    error = serializers.SerializerMethodField()
    details = serializers.JSONField(
        allow_null=True,
        help_text="More for the owner, or null: `renamed_to` (`owner/repo`) when GitHub "
        "redirected the source's repository to a new name (reason `repository_renamed`); "
        "update the source to it.",
    )

    class Meta:
        model = RefreshEntry
        ref_name = "RefreshEntry"
        list_serializer_class = RefreshEntryListSerializer
        fields = [
            "artifact_id",
            "artifact",
            "status",
            "changes",
            "applied",
            "reason",
            "error",
            "current_sha",
            "upstream_sha",
            "update_available",
            "duration_ms",
            "details",
        ]

    @extend_schema_field(EntryErrorSerializer(allow_null=True))
    def get_error(self, entry: RefreshEntry) -> dict[str, str] | None:
        if not entry.error_code:
            return None
        return {"code": entry.error_code, "message": entry.error_message}

    def to_representation(self, instance: RefreshEntry) -> EntryData:  # type: ignore[override]
        return entry_data(entry_row(instance))


class SummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    refreshed = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    error = serializers.IntegerField()
    updates_available = serializers.IntegerField()
    processed = serializers.IntegerField(
        help_text="Artifacts done so far; equals `total` once the run has finished."
    )

    class Meta:
        ref_name = "RefreshSummary"


class RateLimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    remaining = serializers.IntegerField()
    reset_at = serializers.DateTimeField()
    resource = serializers.ChoiceField(
        choices=[("core", "core"), ("graphql", "graphql")],
        default="core",
        help_text="The GitHub quota the run used most: `core` (REST) or `graphql`.",
    )

    class Meta:
        ref_name = "RateLimit"


class RunErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()

    class Meta:
        ref_name = "RefreshRunError"


class RefreshResponseSerializer(serializers.ModelSerializer[RefreshRun]):
    """A refresh run: its options, its outcome and one entry per artifact."""

    run_id = serializers.UUIDField(source="id")
    collection_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    mode = serializers.ChoiceField(choices=Mode.choices)
    trigger = serializers.ChoiceField(
        choices=Trigger.choices,
        help_text="What started the run: the API, the admin, the command line, the collection's "
        "schedule or a GitHub push.",
    )
    fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
    summary = SummarySerializer(source="*")
    entries = RefreshEntrySerializer(many=True)
    rate_limit = RateLimitSerializer(allow_null=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = RefreshRun
        ref_name = "RefreshResponse"
        fields = [
            "run_id",
            "collection_id",
            "status",
            "mode",
            "trigger",
            "dry_run",
            "fields",
            "artifact_filter",
            "background",
            "started_at",
            "finished_at",
            "duration_ms",
            "summary",
            "entries",
            "rate_limit",
            "error",
            "rolled_back_at",
            "request_id",
        ]

    @extend_schema_field(RunErrorSerializer(allow_null=True))
    def get_error(self, run: RefreshRun) -> dict[str, str] | None:
        """Why the run as a whole failed (e.g. its worker was lost), or null."""
        if not run.error_code:
            return None
        return {"code": run.error_code, "message": run.error_message}


class RefreshRunListSerializer(RefreshResponseSerializer):
    """A run without its entries, for lists."""

    class Meta(RefreshResponseSerializer.Meta):
        ref_name = "RefreshRunSummary"
        fields = [f for f in RefreshResponseSerializer.Meta.fields if f != "entries"]


class RollbackArtifactSerializer(serializers.Serializer):
    artifact_id = serializers.UUIDField()
    artifact = serializers.CharField()
    restored = serializers.ListField(child=serializers.CharField())
    left = serializers.DictField(
        child=serializers.CharField(), help_text="Fields left alone, with why."
    )

    class Meta:
        ref_name = "RollbackArtifact"


class RollbackResponseSerializer(serializers.Serializer):
    run_id = serializers.UUIDField()
    rolled_back_at = serializers.DateTimeField()
    restored = serializers.IntegerField(help_text="Fields restored to their old value.")
    left = serializers.IntegerField(help_text="Fields changed since the run, left alone.")
    artifacts = RollbackArtifactSerializer(many=True)

    class Meta:
        ref_name = "RollbackResponse"


def body_object(request: Request) -> QueryDict | dict[str, object]:
    """The request body as data a serializer takes: a JSON object, or a form's fields.

    JSON that is not an object (null, an array, a string, a number) is a client bug, not a
    request for the defaults; an empty body parses to {} and means the defaults.
    """
    body = request.data
    if isinstance(body, QueryDict):  # a form post, e.g. from the browsable API
        # A shallow copy: QueryDict.copy() deep-copies, and an upload spooled to a temporary
        # file cannot be deep-copied. A file in the body is refused like any other bad value.
        return copy.copy(body)
    if isinstance(body, dict):
        return dict(body)
    raise InvalidRequest(
        "The request body must be a JSON object.",
        details={"non_field_errors": ["Expected a JSON object."]},
    )
