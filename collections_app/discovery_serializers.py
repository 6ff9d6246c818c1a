"""The discovery API's shapes: DiscoverRequest and DiscoverResponse (SPEC section 11)."""

from rest_framework import serializers
from rest_framework.request import Request

from collections_app.models import ArtifactType
from collections_app.refresh_serializers import (
    RefreshResponseSerializer,
    StrictBooleanField,
    StrictKeysSerializer,
    body_object,
)
from refresher.discovery import DiscoverRequest

DISCOVERY_STATUSES = [
    ("added", "added"),
    ("exists", "exists"),
    ("invalid", "invalid"),
    ("found", "found"),
]


class DiscoverRequestSerializer(StrictKeysSerializer):
    """Which repository to search, for which kinds of artifact, and what to do with them."""

    # The contract names the key `source`, which shadows Field.source in the type stubs only.
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=1000,
        help_text="A GitHub source (`owner/repo[/path][@ref]` or a github.com URL) or a git "
        "source (`git+https://HOST/PATH/REPO.git//path@ref`, `git+file:///repo//path@ref`); "
        "its path is searched.",
    )
    types = serializers.ListField(
        child=serializers.ChoiceField(choices=ArtifactType.choices),
        required=False,
        allow_null=True,
        help_text="Only these kinds of artifact; null, [] or absent means all.",
    )
    dry_run = StrictBooleanField(
        default=False, help_text="Report what would be added (`found`); add nothing."
    )
    refresh = StrictBooleanField(
        default=False,
        help_text="Then refresh (sync) the added artifacts; the run is the answer's `run`.",
    )

    class Meta:
        ref_name = "Discover"

    def to_request(self) -> DiscoverRequest:
        data = self.validated_data
        return DiscoverRequest(
            source=data["source"].strip(),
            types=tuple(dict.fromkeys(data.get("types") or ())),
            dry_run=data["dry_run"],
            refresh=data["refresh"],
        )


class DiscoveredArtifactSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=ArtifactType.choices,
        allow_null=True,
        help_text="Null for what is not an artifact: a missing repository or ref, a plugin "
        "the marketplace keeps elsewhere.",
    )
    name = serializers.CharField(allow_blank=True)
    path = serializers.CharField(allow_blank=True, help_text="Path in the repository.")
    source = serializers.CharField(  # type: ignore[assignment]
        help_text="The source the artifact is (or would be) added with."
    )
    status = serializers.ChoiceField(choices=DISCOVERY_STATUSES)
    reason = serializers.CharField(
        allow_blank=True,
        help_text="For `invalid`: one word, e.g. `upstream_not_found`, `invalid_metadata`, "
        "`invalid_name`, `duplicate_name`, `external_source`, `invalid_source`, "
        "`truncated_tree` (the host listed only part of the repository).",
    )
    message = serializers.CharField(allow_blank=True, help_text="More about the reason.")

    class Meta:
        ref_name = "DiscoveredArtifact"


class DiscoverResponseSerializer(serializers.Serializer):
    source = serializers.CharField(  # type: ignore[assignment]
        help_text="The source searched, in its canonical form."
    )
    ref = serializers.CharField(
        allow_blank=True, help_text="The ref read: the source's own, or the default branch."
    )
    commit = serializers.CharField(allow_blank=True, help_text="The commit read.")
    dry_run = serializers.BooleanField()
    artifacts = DiscoveredArtifactSerializer(many=True)
    run = RefreshResponseSerializer(
        allow_null=True, help_text="The refresh of the added artifacts (with `refresh: true`)."
    )

    class Meta:
        ref_name = "DiscoverResponse"


def discover_request(request: Request) -> DiscoverRequest:
    serializer = DiscoverRequestSerializer(data=body_object(request))
    serializer.is_valid(raise_exception=True)
    return serializer.to_request()
