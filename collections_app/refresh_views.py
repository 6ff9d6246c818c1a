"""The refresh action's request parsing and the refresh-run endpoints."""

import dataclasses

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from collections_app.filters import RefreshRunFilter
from collections_app.paths import UUID_PATH
from collections_app.querysets import visible_runs
from collections_app.refresh_serializers import (
    RefreshRequestSerializer,
    RefreshResponseSerializer,
    RefreshRunListSerializer,
    RollbackResponseSerializer,
    body_object,
)
from collections_app.throttling import AtomicUserRateThrottle
from refresher.models import Mode, RefreshRun
from refresher.options import RefreshOptions
from refresher.rollback import rollback_run
from skillmeat_site.schema import error

ROLLBACK_REFUSED = error(
    "The run cannot be rolled back: a dry run, a check run, an unfinished run, or one already "
    "rolled back.",
    "rollback_refused",
    "This run was already rolled back.",
)


class RefreshThrottle(AtomicUserRateThrottle):
    """Refreshes and discoveries per user (REFRESH_THROTTLE_RATE), counted in the database."""

    scope = "refresh"


class ImportThrottle(AtomicUserRateThrottle):
    """Manifest imports per user (IMPORT_THROTTLE_RATE), counted in the database."""

    scope = "import"


def parse_refresh_request(request: Request) -> RefreshOptions:
    """Validate the body (optional) with `?mode=` taking precedence over the body's mode."""
    serializer = RefreshRequestSerializer(data=body_object(request))
    # The body is valid or not whatever the query says: `?mode=` overrides a valid mode, it does
    # not excuse an invalid one.
    serializer.is_valid(raise_exception=True)
    options = serializer.to_options()
    if "mode" in request.query_params:
        mode = serializers.ChoiceField(choices=Mode.choices)
        try:
            chosen = mode.run_validation(request.query_params["mode"])
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"mode": exc.detail}) from None
        options = dataclasses.replace(options, mode=chosen)
    return options


MODE_PARAMETER = OpenApiParameter(
    "mode",
    enum=Mode.values,
    required=False,
    location=OpenApiParameter.QUERY,
    description="Overrides the body's `mode`.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key and body answers with the first request's run "
    "instead of starting another; the same key with another body is a 400.",
)
REFRESH_EXAMPLES = [
    OpenApiExample(
        "Metadata refresh of all artifacts",
        value={},
        request_only=True,
    ),
    OpenApiExample(
        "Dry run of a sync for two fields of the PDF skills",
        value={
            "mode": "sync",
            "dry_run": True,
            "fields": ["description", "license"],
            "artifact_filter": {"type": "skill", "name": "pdf*"},
        },
        request_only=True,
    ),
]


@extend_schema_view(
    list=extend_schema(summary="List refresh runs", description="Newest first, without entries."),
    retrieve=extend_schema(summary="Read a refresh run with its entries"),
)
class RefreshRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The record of every refresh of your collections, dry runs and checks included."""

    lookup_value_regex = UUID_PATH
    filterset_class = RefreshRunFilter
    ordering_fields = ["created_at", "finished_at"]

    def get_queryset(self) -> QuerySet[RefreshRun]:
        # A run's entries are read by its serializer, in one query of plain rows.
        return visible_runs(self.request.user).order_by("-created_at")

    def get_serializer_class(self) -> type:
        return RefreshRunListSerializer if self.action == "list" else RefreshResponseSerializer

    @extend_schema(
        operation_id="refresh_runs_rollback",
        summary="Roll back a run's applied changes",
        request=None,
        responses={200: RollbackResponseSerializer, 409: ROLLBACK_REFUSED},
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        """Restore the old value of every field the run applied, where the current value still
        equals the value the run wrote. Fields changed since are left alone and reported.

        A run can be rolled back once; dry runs and check runs wrote nothing and are refused.
        """
        run = self.get_object()
        report = rollback_run(run, user=request.user)
        return Response(RollbackResponseSerializer(report).data)
