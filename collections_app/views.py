"""REST endpoints for collections and artifacts. Views stay thin: scoping, serializers, engine."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from collections_app.filters import ArtifactFilter
from collections_app.models import Artifact, Collection
from collections_app.querysets import visible_artifacts, visible_collections, with_artifact_count
from collections_app.serializers import ArtifactSerializer, CollectionSerializer

UUID_PATH = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


@extend_schema_view(
    list=extend_schema(summary="List your collections"),
    create=extend_schema(summary="Create a collection"),
    retrieve=extend_schema(summary="Read a collection"),
    update=extend_schema(summary="Replace a collection"),
    partial_update=extend_schema(summary="Edit a collection"),
    destroy=extend_schema(summary="Delete a collection and its artifacts"),
)
class CollectionViewSet(viewsets.ModelViewSet):
    """Collections of artifacts. You see your own; staff see all."""

    serializer_class = CollectionSerializer
    lookup_value_regex = UUID_PATH
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self) -> QuerySet[Collection]:
        return with_artifact_count(visible_collections(self.request.user))

    def perform_create(self, serializer: CollectionSerializer) -> None:
        serializer.save(owner=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List artifacts"),
    create=extend_schema(summary="Add an artifact"),
    retrieve=extend_schema(summary="Read an artifact"),
    update=extend_schema(summary="Replace an artifact"),
    partial_update=extend_schema(summary="Edit an artifact"),
    destroy=extend_schema(summary="Delete an artifact"),
)
class ArtifactViewSet(viewsets.ModelViewSet):
    """Artifacts in your collections, filterable by collection, type, name and update status."""

    serializer_class = ArtifactSerializer
    lookup_value_regex = UUID_PATH
    filterset_class = ArtifactFilter
    ordering_fields = ["name", "type", "created_at", "updated_at", "last_refreshed_at"]

    def get_queryset(self) -> QuerySet[Artifact]:
        return visible_artifacts(self.request.user).order_by("collection_id", "type", "name")
