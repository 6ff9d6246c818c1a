"""Serializers for collections and artifacts."""

from typing import Any

from django.db import IntegrityError, transaction
from rest_framework import serializers

from collections_app.models import Artifact, ArtifactType, Collection
from collections_app.querysets import visible_collections
from collections_app.validators import validate_notify_url
from refresher.changes import FIELDS
from refresher.exceptions import InvalidSource
from refresher.schedules import normalize
from refresher.sources import parse_source


class CollectionSerializer(serializers.ModelSerializer[Collection]):
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    artifact_count = serializers.IntegerField(read_only=True, default=0)
    notify_secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Signs notifications with HMAC-SHA256 (X-SkillMeat-Signature-256). Write-only; "
        "an empty string removes it.",
    )
    notify_url = serializers.URLField(
        required=False,
        allow_blank=True,
        max_length=2000,
        validators=[validate_notify_url],
        help_text="https URL on a public address that gets a JSON POST when a scheduled or push "
        "refresh finds updates or changes something; empty = no notifications.",
    )
    notify_secret_set = serializers.SerializerMethodField(
        help_text="Whether notifications are signed (the secret itself is never shown)."
    )

    class Meta:
        model = Collection
        fields = [
            "id",
            "name",
            "description",
            "owner",
            "artifact_count",
            "auto_refresh_mode",
            "refresh_schedule",
            "next_refresh_at",
            "refresh_on_push",
            "notify_url",
            "notify_secret",
            "notify_secret_set",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "next_refresh_at", "created_at", "updated_at"]
        extra_kwargs = {
            "next_refresh_at": {
                "help_text": "When the schedule next refreshes the collection (UTC); null when "
                "it has no schedule."
            },
        }

    def get_notify_secret_set(self, collection: Collection) -> bool:
        return bool(collection.notify_secret)

    def validate_refresh_schedule(self, value: str) -> str:
        return normalize(value)

    def validate_notify_url(self, value: str) -> str:
        return value.strip()

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("A name must not be blank.")
        owner = self.instance.owner if self.instance else self.context["request"].user
        clash = Collection.objects.filter(owner=owner, name=value)
        if self.instance:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError("You already have a collection with this name.")
        return value


class StringListField(serializers.ListField):
    child = serializers.CharField(max_length=100, allow_blank=False)


class ArtifactSerializer(serializers.ModelSerializer[Artifact]):
    collection = serializers.PrimaryKeyRelatedField(queryset=Collection.objects.none())
    type = serializers.ChoiceField(choices=ArtifactType.choices)
    topics = StringListField(required=False)
    tags = StringListField(required=False)
    locked_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=FIELDS), required=False
    )
    update_available = serializers.BooleanField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Artifact
        fields = [
            "id",
            "collection",
            "type",
            "name",
            "source",
            "source_kind",
            "upstream_owner",
            "upstream_repo",
            "upstream_path",
            "upstream_ref",
            "resolved_sha",
            "content_sha",
            "update_available",
            "title",
            "description",
            "author",
            "license",
            "topics",
            "tags",
            "locked_fields",
            "content",
            "last_refreshed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "source_kind",
            "upstream_owner",
            "upstream_repo",
            "upstream_path",
            "upstream_ref",
            "resolved_sha",
            "content_sha",
            "last_refreshed_at",
            "created_at",
            "updated_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "collection" in self.fields:
            # Only the user's own collections can receive artifacts; another user's id reads as
            # a collection that does not exist.
            field = self.fields["collection"]
            assert isinstance(field, serializers.PrimaryKeyRelatedField)
            field.queryset = visible_collections(request.user)  # type: ignore[misc,arg-type]

    def validate_source(self, value: str) -> str:
        try:
            parse_source(value, strict=True)
        except InvalidSource as exc:
            raise serializers.ValidationError(f"Invalid source: {exc}.") from None
        return value.strip()

    def validate_locked_fields(self, value: list[str]) -> list[str]:
        return sorted(set(value), key=FIELDS.index)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        collection = attrs.get("collection", getattr(self.instance, "collection", None))
        kind = attrs.get("type", getattr(self.instance, "type", None))
        name = attrs.get("name", getattr(self.instance, "name", None))
        clash = Artifact.objects.filter(collection=collection, type=kind, name=name)
        if self.instance:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(
                {"name": [f"This collection already has a {kind} named {name!r}."]}
            )
        return attrs

    def save(self, **kwargs: Any) -> Artifact:
        try:
            with transaction.atomic():
                return super().save(**kwargs)
        except IntegrityError:
            # Two writers raced past validate(); the database constraint decided.
            raise serializers.ValidationError(
                {"name": ["This collection already has an artifact of this type and name."]}
            ) from None
