"""REST endpoints for collections and artifacts. Views stay thin: scoping, serializers, engine."""

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from collections_app.filters import ArtifactFilter
from collections_app.models import Artifact, Collection
from collections_app.paths import UUID_PATH
from collections_app.querysets import visible_artifacts, visible_collections, with_artifact_count
from collections_app.refresh_serializers import (
    RefreshRequestSerializer,
    RefreshResponseSerializer,
)
from collections_app.refresh_views import (
    IDEMPOTENCY_KEY,
    MODE_PARAMETER,
    REFRESH_EXAMPLES,
    RefreshThrottle,
    parse_refresh_request,
)
from collections_app.serializers import ArtifactSerializer, CollectionSerializer
from refresher.models import RefreshRun
from refresher.service import start_refresh
from skillmeat_site.request_id import request_id_of
from skillmeat_site.schema import NAME_TAKEN, REFRESH_ERRORS


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
    openapi_conflict = NAME_TAKEN
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self) -> QuerySet[Collection]:
        return with_artifact_count(visible_collections(self.request.user))

    def perform_create(self, serializer: BaseSerializer[Collection]) -> None:
        serializer.save(owner=self.request.user)

    @extend_schema(
        operation_id="collections_refresh",
        summary="Refresh a collection's artifacts from GitHub",
        # JSON only: form posts are read for the browsable API's form, but a form cannot carry
        # the nested `artifact_filter` or JSON null the way the schema describes them.
        request={"application/json": RefreshRequestSerializer},
        examples=REFRESH_EXAMPLES,
        parameters=[MODE_PARAMETER, IDEMPOTENCY_KEY],
        responses={
            200: OpenApiResponse(
                RefreshResponseSerializer, description="The refresh ran inline; here is its record."
            ),
            202: OpenApiResponse(
                RefreshResponseSerializer,
                description="Queued for a background worker (asked for with `background`, or "
                "more artifacts than REFRESH_SYNC_MAX_ARTIFACTS). Poll the URL in `Location`.",
            ),
            **REFRESH_ERRORS,
        },
    )
    @action(
        detail=True,
        methods=["post"],
        throttle_classes=[RefreshThrottle],
        # The browsable API's form for this action shows the refresh options.
        serializer_class=RefreshRequestSerializer,
    )
    def refresh(self, request: Request, pk: str | None = None) -> Response:
        """Read each artifact's upstream metadata from GitHub and compare it with what is stored.

        `metadata_only` (the default) writes changed metadata fields; `check_only` only reports
        changes and available updates; `sync` also moves unpinned artifacts' content to
        upstream's head. `dry_run` computes everything and writes nothing. A local value is
        never erased by a missing or blank upstream value, and `locked_fields` are never
        written. Every run is recorded under `/api/v1/refresh-runs/{run_id}/`.

        With `background: true`, or when more artifacts are selected than the site refreshes
        inline, the answer is 202 with the queued run and its URL in `Location`. An
        `Idempotency-Key` header makes a retried request replay the first one's run instead of
        starting another.

        Problems with single artifacts (a missing file, broken frontmatter) are reported in
        their entries of a 200 answer with status `partial` or `failed`; a 503 means GitHub
        could not be read at all.
        """
        collection = self.get_object()
        options = parse_refresh_request(request)
        started = start_refresh(
            collection,
            options,
            user=request.user,
            request_id=request_id_of(request),
            idempotency_key=request.headers.get("Idempotency-Key", "").strip()[:255],
        )
        run = RefreshRun.objects.prefetch_related("entries").get(pk=started.run.pk)
        body = RefreshResponseSerializer(run).data
        # Tells a retrying client that this answer is the first request's run, not a new one.
        headers = {"Idempotent-Replayed": "true"} if started.replayed else {}
        if started.background:
            # The route's slash is optional, so reverse() leaves it out; the canonical URL has it.
            location = reverse("refresh-run-detail", kwargs={"pk": run.pk}).rstrip("/") + "/"
            headers["Location"] = location
            return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)
        return Response(body, status=status.HTTP_200_OK, headers=headers)


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
    openapi_conflict = NAME_TAKEN
    filterset_class = ArtifactFilter
    ordering_fields = ["name", "type", "created_at", "updated_at", "last_refreshed_at"]

    def get_queryset(self) -> QuerySet[Artifact]:
        return visible_artifacts(self.request.user).order_by("collection_id", "type", "name")
