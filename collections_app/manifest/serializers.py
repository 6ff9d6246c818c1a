"""Request and response shapes of manifest import, named for stable OpenAPI components."""

from rest_framework import serializers

from collections_app.manifest.importer import STATUSES
from collections_app.models import ArtifactType


class ManifestUploadSerializer(serializers.Serializer):
    """A multipart upload of a `collection.toml`."""

    file = serializers.FileField(help_text="The collection.toml file.")

    class Meta:
        ref_name = "ManifestUpload"


class ImportedArtifactSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ArtifactType.choices)
    name = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[(s, s) for s in STATUSES],
        help_text="`created`, `updated` (the fields are in `reason`), `unchanged`, or "
        "`skipped` (why is in `reason`, e.g. `uuid_conflict`).",
    )
    reason = serializers.CharField(allow_null=True)

    class Meta:
        ref_name = "ImportedArtifact"


class ImportResultSerializer(serializers.Serializer):
    collection_id = serializers.UUIDField(
        allow_null=True,
        help_text="The collection imported into; null for a dry run that would create it.",
    )
    created = serializers.BooleanField(
        help_text="The collection was (in a dry run: would be) created by this import."
    )
    dry_run = serializers.BooleanField()
    artifacts = ImportedArtifactSerializer(many=True)

    class Meta:
        ref_name = "ImportResult"
