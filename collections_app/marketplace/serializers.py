"""The shapes of a collection's marketplace (SPEC 15): the manifest as the document describes it,
the summary, and share links (made, listed)."""

from rest_framework import serializers

from collections_app.fields import NameField
from collections_app.marketplace.manifest import OMISSION_REASONS
from collections_app.models import ArtifactType, ShareLink
from collections_app.refresh_serializers import StrictKeysSerializer


class _Named(serializers.Serializer):
    name = serializers.CharField()

    class Meta:
        ref_name = "MarketplacePerson"


class _PluginSource(serializers.Serializer):
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=[("git-subdir", "git-subdir"), ("url", "url")],
        help_text="`git-subdir`: the artifact's directory of the repository; `url`: the whole "
        "repository (a skill that is the repository's root).",
    )
    url = serializers.CharField(help_text="The repository's clone URL.")
    path = serializers.CharField(
        required=False, help_text="The directory in the repository (`.` for its root)."
    )
    sha = serializers.RegexField(
        r"^[0-9a-f]{40}$", help_text="The commit the collection synced: what is installed."
    )
    ref = serializers.CharField(
        required=False, help_text="The branch or tag the artifact tracks, when it tracks one."
    )

    class Meta:
        ref_name = "MarketplacePluginSource"


class _Plugin(serializers.Serializer):
    name = serializers.RegexField(r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)
    description = serializers.CharField(required=False)
    author = _Named(required=False)
    license = serializers.CharField(required=False)
    keywords = serializers.ListField(child=serializers.CharField(), required=False)
    category = serializers.ChoiceField(choices=ArtifactType.choices)
    source = _PluginSource()  # type: ignore[assignment]
    strict = serializers.BooleanField(help_text="Always false: this entry is the whole plugin.")
    skills = serializers.ListField(child=serializers.CharField(), required=False)
    agents = serializers.ListField(child=serializers.CharField(), required=False)
    commands = serializers.ListField(child=serializers.CharField(), required=False)
    hooks = serializers.DictField(
        required=False, help_text="A hook's events and matchers, as its file holds them."
    )
    mcpServers = serializers.DictField(
        required=False, help_text="An MCP config's servers, as its file holds them."
    )

    class Meta:
        ref_name = "MarketplacePlugin"


class _Metadata(serializers.Serializer):
    version = serializers.CharField()

    class Meta:
        ref_name = "MarketplaceMetadata"


class MarketplaceManifestSerializer(serializers.Serializer):
    """`.claude-plugin/marketplace.json` as Claude Code reads it (documentation only)."""

    name = serializers.RegexField(r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)
    owner = _Named()
    description = serializers.CharField()
    metadata = _Metadata(required=False)
    plugins = _Plugin(many=True)

    class Meta:
        ref_name = "MarketplaceManifest"


class OmittedSerializer(serializers.Serializer):
    artifact_id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=ArtifactType.choices)
    name = serializers.CharField()
    reason = serializers.ChoiceField(choices=[(r, r) for r in OMISSION_REASONS])

    class Meta:
        ref_name = "MarketplaceOmitted"


class MarketplaceSummarySerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The marketplace's name in Claude Code.")
    manifest_url = serializers.URLField(help_text="The manifest, for the collection's owner.")
    plugins = serializers.IntegerField(help_text="How many artifacts the manifest offers.")
    omitted = OmittedSerializer(many=True, help_text="Artifacts left out, and why.")
    share_links = serializers.IntegerField(help_text="Live share links of the collection.")

    class Meta:
        ref_name = "MarketplaceSummary"


class ShareLinkRequestSerializer(StrictKeysSerializer):
    label = NameField(  # type: ignore[assignment]
        required=False, help_text="Who or what the link is for."
    )

    class Meta:
        ref_name = "ShareLinkRequest"


class ShareLinkSerializer(serializers.ModelSerializer[ShareLink]):
    class Meta:
        model = ShareLink
        fields = ["id", "label", "created_at", "last_used_at"]
        ref_name = "ShareLink"


class ShareLinkCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField(allow_blank=True)  # type: ignore[assignment]
    url = serializers.URLField(
        help_text="`<site>/m/<token>/marketplace.json`: shown in this answer only."
    )
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "ShareLinkCreated"
