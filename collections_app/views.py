"""REST endpoints for collections and artifacts. Views stay thin: scoping, serializers, engine."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from collections_app.discovery_serializers import (
    DiscoverRequestSerializer,
    DiscoverResponseSerializer,
    discover_request,
)
from collections_app.filters import ArtifactFilter
from collections_app.manifest.export import export_manifest, manifest_filename
from collections_app.manifest.importer import import_manifest
from collections_app.manifest.serializers import ImportResultSerializer
from collections_app.manifest.toml_http import TomlParser, TomlRenderer
from collections_app.manifest.views import (
    DRY_RUN_PARAMETER,
    EXPORT_RESPONSES,
    IMPORT_REQUEST,
    IMPORT_RESPONSES,
    NAME_PARAMETER,
    import_options,
    manifest_body,
)
from collections_app.marketplace.views import MarketplaceActions
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
    ImportThrottle,
    RefreshThrottle,
    parse_refresh_request,
)
from collections_app.review_views import ReviewActions
from collections_app.serializers import ArtifactSerializer, CollectionSerializer
from refresher.discovery import discover_now
from refresher.models import RefreshRun, Trigger
from refresher.service import launch
from skillmeat_site.request_id import request_id_of
from skillmeat_site.schema import (
    BODY_REQUIRED,
    DISCOVER_ERRORS,
    DISCOVER_EXAMPLES,
    NAME_TAKEN,
    REFRESH_ERRORS,
)


@extend_schema_view(
    list=extend_schema(summary="List your collections"),
    create=extend_schema(summary="Create a collection"),
    retrieve=extend_schema(summary="Read a collection"),
    update=extend_schema(summary="Replace a collection"),
    partial_update=extend_schema(summary="Edit a collection"),
    destroy=extend_schema(summary="Delete a collection and its artifacts"),
)
class CollectionViewSet(ReviewActions, MarketplaceActions, viewsets.ModelViewSet):
    """Collections of artifacts. You see your own; staff see all."""

    serializer_class = CollectionSerializer
    lookup_value_regex = UUID_PATH
    openapi_conflict = NAME_TAKEN
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self) -> QuerySet[Collection]:
        collections = with_artifact_count(visible_collections(self.request.user))
        return collections.prefetch_related("credential_links")

    def perform_create(self, serializer: BaseSerializer[Collection]) -> None:
        serializer.save(owner=self.request.user)

    def finalize_response(
        self, request: Request, response: Response, *args: object, **kwargs: object
    ) -> Response:
        # The export renders TOML text; anything else it answers (errors in the API's error
        # shape, OPTIONS metadata) is JSON.
        renderer = getattr(request, "accepted_renderer", None)
        is_data = isinstance(response, Response) and not isinstance(response.data, str)
        if is_data and (renderer is None or isinstance(renderer, TomlRenderer)):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        operation_id="collections_import",
        summary="Import a collection.toml",
        request=IMPORT_REQUEST,
        parameters=[NAME_PARAMETER, DRY_RUN_PARAMETER],
        responses=IMPORT_RESPONSES,
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[TomlParser, MultiPartParser],
        throttle_classes=[ImportThrottle],
    )
    def import_collection(self, request: Request) -> Response:
        """Create or update one of your collections from a single-user `collection.toml`.

        Send the manifest as the body with `Content-Type: application/toml`, or as a multipart
        upload in the field `file`. The collection is the manifest's `[collection] name` (or
        `?name=`); when you already have one of that name it is updated in place: each entry
        is matched by `uuid`, else by type and name. Pins (`version_spec`, `resolved_sha`),
        metadata, tags and keys the site does not know are kept, and written back by the
        export. A key an entry leaves out leaves the stored value alone; artifacts the manifest
        does not name are left as they are.

        The import is all or nothing: a manifest with any invalid entry (bad type or name, a
        duplicate, an invalid source, a path with `..`) answers 400 naming every such entry,
        and nothing is written. `?dry_run=true` reports what would happen and writes nothing.
        """
        owner = request.user
        if not isinstance(owner, AbstractBaseUser):  # IsAuthenticated let no one else in
            raise NotAuthenticated()
        name, dry_run = import_options(request)
        result = import_manifest(manifest_body(request), owner=owner, name=name, dry_run=dry_run)
        created = result.created and not result.dry_run
        return Response(
            ImportResultSerializer(result).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    # The manifest is required: the document says so, as the server does (400 without one).
    setattr(import_collection, BODY_REQUIRED, True)

    @extend_schema(
        operation_id="collections_export",
        summary="Export a collection as collection.toml",
        responses=EXPORT_RESPONSES,
    )
    @action(detail=True, methods=["get"], renderer_classes=[TomlRenderer])
    def export(self, request: Request, pk: str | None = None) -> Response:
        """Download the collection as a `collection.toml` the single-user tool reads.

        Everything an import took in comes back out (pins, metadata, tags, unknown keys), so
        importing the export changes nothing.
        """
        collection = self.get_object()
        filename = manifest_filename(collection)
        return Response(
            export_manifest(collection),
            content_type=f"{TomlRenderer.media_type}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

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
        started = launch(
            collection,
            options,
            trigger=Trigger.API,
            user=request.user,
            request_id=request_id_of(request),
            idempotency_key=request.headers.get("Idempotency-Key", "").strip()[:255],
            deadline_seconds=settings.REFRESH_INLINE_DEADLINE,
        )
        # Read again: a queued run may have been taken by a worker since. Its entries are read
        # by the serializer, as plain rows (RefreshEntryListSerializer).
        run = RefreshRun.objects.get(pk=started.run.pk)
        body = RefreshResponseSerializer(run).data
        # Tells a retrying client that this answer is the first request's run, not a new one.
        headers = {"Idempotent-Replayed": "true"} if started.replayed else {}
        if started.background:
            # The route's slash is optional, so reverse() leaves it out; the canonical URL has it.
            location = reverse("refresh-run-detail", kwargs={"pk": run.pk}).rstrip("/") + "/"
            headers["Location"] = location
            return Response(body, status=status.HTTP_202_ACCEPTED, headers=headers)
        return Response(body, status=status.HTTP_200_OK, headers=headers)

    @extend_schema(
        operation_id="collections_discover",
        summary="Add a repository's artifacts at once",
        request=DiscoverRequestSerializer,
        examples=DISCOVER_EXAMPLES,
        responses={
            200: OpenApiResponse(
                DiscoverResponseSerializer,
                description="What was found and what became of each: `added`, `exists`, "
                "`invalid`, or `found` in a dry run. A missing repository, ref or path is an "
                "`invalid` entry (reason `upstream_not_found`), and nothing is added.",
            ),
            **DISCOVER_ERRORS,
        },
    )
    @action(
        detail=True,
        methods=["post"],
        throttle_classes=[RefreshThrottle],
        serializer_class=DiscoverRequestSerializer,
    )
    def discover(self, request: Request, pk: str | None = None) -> Response:
        """Read a repository's tree once and add every artifact found under the source's path.

        Skills are directories holding `SKILL.md`; agents and commands are `agents/*.md` and
        `commands/*.md`; hooks `hooks/*.json`; MCP configs `.mcp.json` (also under `.claude/`).
        The plugins a Claude Code marketplace manifest (`.claude-plugin/marketplace.json`)
        lists are searched the same way. Names come from the main file's frontmatter `name`,
        else from the directory or file name. An artifact of the same type and name already in
        the collection is left alone (`exists`). `dry_run` adds nothing; `refresh` then syncs
        the added artifacts (in the background when there are many) and includes the run.
        """
        collection = self.get_object()
        discovery = discover_now(
            collection,
            discover_request(request),
            user=request.user,
            request_id=request_id_of(request),
        )
        if discovery.run is not None:
            discovery.run = RefreshRun.objects.get(pk=discovery.run.pk)
        return Response(DiscoverResponseSerializer(discovery).data)


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
