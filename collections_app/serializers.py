"""Serializers for collections and artifacts."""

import uuid
from typing import TYPE_CHECKING, TypedDict, Unpack

from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from collections_app.credential_serializers import CredentialIdsField
from collections_app.fields import (
    SPACE_CLASS,
    NameField,
    StrictCharField,
    StrictIntegerField,
    StrictModelSerializer,
    TextOptions,
)
from collections_app.models import (
    ARTIFACT_NAME_MAX_LENGTH,
    Artifact,
    ArtifactType,
    Collection,
    CollectionCredential,
    Credential,
    validate_artifact_name,
)
from collections_app.querysets import visible_collections
from collections_app.validators import INVISIBLE_CLASS_BMP, validate_notify_url
from refresher.changes import FIELDS
from refresher.exceptions import AlreadyExists, InvalidSource, NotFound
from refresher.models import MAX_UPDATE_AGE_HOURS
from refresher.schedules import normalize
from refresher.sources import parse_source

if TYPE_CHECKING:
    # A name of DRF's type stubs only.
    from rest_framework.validators import Validator

# A bound on one collection's credentials: each one a run may try costs requests.
MAX_COLLECTION_CREDENTIALS = 20


class CollectionSerializer(StrictModelSerializer[Collection]):
    name = NameField(help_text="Unique among your collections.")
    owner = serializers.CharField(source="owner.get_username", read_only=True)
    artifact_count = serializers.IntegerField(read_only=True, default=0)
    notify_secret = StrictCharField(
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
    min_update_age_hours = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=MAX_UPDATE_AGE_HOURS,
        help_text="Cooldown: an upstream commit younger than this many hours (its committer "
        f"date) is neither proposed nor taken yet. 0 (the default) to {MAX_UPDATE_AGE_HOURS}.",
    )
    credentials = CredentialIdsField(
        required=False,
        max_length=MAX_COLLECTION_CREDENTIALS,
        help_text="Ids of the owner's credentials the collection reads private sources with, "
        "in order: for each repository, a GitHub App installed on its owner, else the first "
        "GitHub token, else the site's token; for a git host, the first git_basic credential "
        "of that host. Another user's credential is refused.",
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
            "review_updates",
            "min_update_age_hours",
            "block_findings",
            "credentials",
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

    def validate_credentials(self, value: list[uuid.UUID]) -> list[Credential]:
        """The owner's own credentials only: anyone else's id is refused, naming it."""
        owner = self.instance.owner if self.instance else self.context["request"].user
        ids = list(dict.fromkeys(value))
        found = {c.pk: c for c in Credential.objects.filter(owner=owner, pk__in=ids)}
        unknown = [str(i) for i in ids if i not in found]
        if unknown:
            raise serializers.ValidationError(
                [f"No credential {i} among the collection owner's credentials." for i in unknown]
            )
        return [found[i] for i in ids]

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        # Checked after every field is valid: a taken name is a 409 conflict with what is stored,
        # which only makes sense for an otherwise valid request.
        name = attrs.get("name")
        if name is not None:
            owner = self.instance.owner if self.instance else self.context["request"].user
            clash = Collection.objects.filter(owner=owner, name=name)
            if self.instance:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise _name_taken("You already have a collection with this name.")
        return attrs

    def save(self, **kwargs: object) -> Collection:
        credentials: list[Credential] | None = self.validated_data.pop("credentials", None)
        try:
            with transaction.atomic():
                collection = super().save(**kwargs)
                if credentials is not None:
                    set_credentials(collection, credentials)
                return collection
        except IntegrityError:
            # Two writers raced past validate(); the database constraint decided.
            raise _name_taken("You already have a collection with this name.") from None


def set_credentials(collection: Collection, credentials: list[Credential]) -> None:
    """Make `credentials` the collection's list, in this order (inside the caller's transaction)."""
    CollectionCredential.objects.filter(collection=collection).delete()
    CollectionCredential.objects.bulk_create(
        CollectionCredential(collection=collection, credential=credential, position=position)
        for position, credential in enumerate(credentials)
    )
    # A prefetched list read before the change would answer the old one.
    getattr(collection, "_prefetched_objects_cache", {}).pop("credential_links", None)


def _name_taken(message: str) -> AlreadyExists:
    return AlreadyExists(message, details={"name": [message]})


class StringListField(serializers.ListField):
    child = StrictCharField(max_length=100, allow_blank=False)


# The rules of validate_artifact_name as a pattern on the text as sent (DRF strips it first):
# after optional spaces, a first character that is not a space or '.', then no '/' or '\', no
# control or invisible formatting character, and every '.' followed by something other than
# '.', or ending the name; then optional spaces.
_NAME_CHAR = rf"[^{INVISIBLE_CLASS_BMP}./\\]"
ARTIFACT_NAME_PATTERN = (
    rf"^[{SPACE_CLASS}]*[^{SPACE_CLASS}{INVISIBLE_CLASS_BMP}./\\]"
    rf"(?:{_NAME_CHAR}|\.{_NAME_CHAR})*\.?[{SPACE_CLASS}]*$"
)


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": ARTIFACT_NAME_MAX_LENGTH,
        "pattern": ARTIFACT_NAME_PATTERN,
        "description": "No '/', '\\' or '..', not starting with '.', no control or invisible "
        "formatting characters; unique per collection and type.",
    }
)
class ArtifactNameField(NameField):
    def __init__(self, **kwargs: Unpack[TextOptions]) -> None:
        kwargs.setdefault("max_length", ARTIFACT_NAME_MAX_LENGTH)
        kwargs.setdefault("validators", [validate_artifact_name])
        super().__init__(**kwargs)


class CollectionReferenceField(serializers.PrimaryKeyRelatedField):
    """The id of one of the user's collections; any other id answers 404, like its URL would.

    Another user's collection and one that does not exist look the same (SPEC 6: `not_found`
    also for another user's collection). A malformed id is still a 400.
    """

    def to_internal_value(self, data: object) -> Collection:
        if not isinstance(data, str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if any(getattr(e, "code", None) == "does_not_exist" for e in exc.detail):
                raise NotFound(
                    "No such collection.", details={"collection": ["No such collection."]}
                ) from None
            raise


class ArtifactData(TypedDict, total=False):
    """An artifact's validated data: the fields a request may write."""

    collection: Collection
    type: str
    name: str
    source: str
    title: str
    description: str
    author: str
    license: str
    topics: list[str]
    tags: list[str]
    locked_fields: list[str]
    content: str


class ArtifactSerializer(StrictModelSerializer[Artifact]):
    collection = CollectionReferenceField(queryset=Collection.objects.none())
    type = serializers.ChoiceField(choices=ArtifactType.choices)
    name = ArtifactNameField()
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

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and "collection" in fields:
            # Only the user's own collections can receive artifacts; another user's id reads as
            # a collection that does not exist.
            field = fields["collection"]
            assert isinstance(field, serializers.PrimaryKeyRelatedField)
            field.queryset = visible_collections(request.user)  # type: ignore[misc,arg-type]
        return fields

    def validate_source(self, value: str) -> str:
        try:
            parse_source(value, strict=True)
        except InvalidSource as exc:
            raise serializers.ValidationError(f"Invalid source: {exc}.") from None
        return value.strip()

    def validate_locked_fields(self, value: list[str]) -> list[str]:
        return sorted(set(value), key=FIELDS.index)

    def validate(self, attrs: ArtifactData) -> ArtifactData:
        stored = self.instance
        collection = attrs.get("collection", stored.collection if stored else None)
        kind = attrs.get("type", stored.type if stored else None)
        name = attrs.get("name", stored.name if stored else None)
        clash = Artifact.objects.filter(collection=collection, type=kind, name=name)
        if self.instance:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise _name_taken(f"This collection already has a {kind} named {name!r}.")
        return attrs

    def get_validators(self) -> "list[Validator[Artifact]]":
        # DRF derives a UniqueTogetherValidator from the model's constraint; it would answer a
        # taken name with a 400, while validate() answers it with the 409 it is.
        return []

    def save(self, **kwargs: object) -> Artifact:
        try:
            with transaction.atomic():
                return super().save(**kwargs)
        except IntegrityError:
            # Two writers raced past validate(); the database constraint decided.
            raise _name_taken(
                "This collection already has an artifact of this type and name."
            ) from None
