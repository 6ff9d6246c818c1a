"""Reviewing updates over the API (SPEC 17): the pending list, approve and reject.

A mixin of CollectionViewSet, so the paths hang under `collections/{id}/updates`. Thin like the
refresh action: find the collection, validate the body, call the review service, serialize.
"""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from collections_app.models import Collection
from collections_app.refresh_serializers import RefreshResponseSerializer, body_object
from collections_app.refresh_views import RefreshThrottle
from collections_app.review_serializers import (
    ApproveRequestSerializer,
    PendingUpdateSerializer,
    RejectResponseSerializer,
    ReviewRequestSerializer,
)
from refresher.approvals import approve
from refresher.models import RefreshRun, Trigger
from refresher.updates.proposals import pending_updates, reject
from skillmeat_site.request_id import request_id_of
from skillmeat_site.schema import REFRESH_ERRORS, UNAUTHENTICATED, error

NOT_FOUND = error("No such collection, or it belongs to another user.", "not_found", "Not found.")
NOT_PENDING = error(
    "An id that is not an artifact of this collection with an update waiting (unknown, "
    "another user's, already taken or rejected), a malformed id, or neither `artifact_ids` nor "
    "`all: true`; nothing was done.",
    "invalid_request",
    "No update is waiting for review for: 0b5cf4e3-8b0e-4a41-9d33-2f1f6c1a7e55",
    {"artifact_ids": ["No update is waiting for review for: 0b5cf4e3-8b0e-4a41-9d33-2f1f6c1a7e55"]},
)
NOTHING_PENDING = error(
    "`all: true` and no update of this collection is waiting for review.",
    "nothing_pending",
    "No updates of this collection are waiting for review.",
)
REVIEW_EXAMPLES = [
    OpenApiExample(
        "Two artifacts",
        value={
            "artifact_ids": [
                "0b5cf4e3-8b0e-4a41-9d33-2f1f6c1a7e55",
                "6f1d2c3b-4a59-4e8f-9b0a-1c2d3e4f5a6b",
            ]
        },
        request_only=True,
    ),
    OpenApiExample("Everything waiting", value={"all": True}, request_only=True),
]


APPROVE_EXAMPLES = [
    *REVIEW_EXAMPLES,
    OpenApiExample(
        "Take one despite its findings",
        value={"artifact_ids": ["0b5cf4e3-8b0e-4a41-9d33-2f1f6c1a7e55"], "accept_findings": True},
        request_only=True,
    ),
]
APPROVE_CONFLICT = error(
    "The collection already has a queued or running refresh (`refresh_in_progress`, "
    "`details.run_id` names it), or `all: true` found nothing waiting (`nothing_pending`).",
    "refresh_in_progress",
    "This collection is already being refreshed.",
    {"run_id": "8d0f1c3e-5b7a-4e2d-9c4f-1a2b3c4d5e6f"},
)


class ReviewActions(GenericViewSet):  # type: ignore[type-arg]
    """`collections/{id}/updates`, `.../updates/approve`, `.../updates/reject`."""

    @extend_schema(
        operation_id="collections_updates_list",
        summary="List the updates waiting for review",
        responses={200: PendingUpdateSerializer(many=True), 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="updates",
        serializer_class=PendingUpdateSerializer,
        filter_backends=[],  # the list has one order: oldest first
    )
    def updates(self, request: Request, pk: str | None = None) -> Response:
        """Content updates upstream offers that nobody has taken or rejected yet, oldest first.

        Each shows the current and proposed commits, the commits in between that touch the
        artifact's path (newest first, at most 20), a unified diff of the main file, the files
        changed under the artifact and the findings (hidden characters, hook commands, MCP
        command changes, widened tools, scripts, new hosts). Scheduled and push runs of a
        collection with `review_updates` fill this list instead of applying content; any run
        that finds an update it does not take adds to it.
        """
        collection: Collection = self.get_object()
        page = self.paginate_queryset(pending_updates(collection.pk))
        serializer = PendingUpdateSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        operation_id="collections_updates_reject",
        summary="Reject updates waiting for review",
        request=ReviewRequestSerializer,
        examples=REVIEW_EXAMPLES,
        responses={
            200: OpenApiResponse(
                RejectResponseSerializer, description="The updates dropped from the list."
            ),
            400: NOT_PENDING,
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
            409: NOTHING_PENDING,
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="updates/reject",
        serializer_class=ReviewRequestSerializer,
    )
    def reject_updates(self, request: Request, pk: str | None = None) -> Response:
        """Drop updates from the list until the artifact's own content changes upstream again.

        A rejected update does not come back when upstream commits elsewhere in the
        repository; it does when the artifact's tree or blob SHA at its path changes.
        """
        collection: Collection = self.get_object()
        serializer = ReviewRequestSerializer(data=body_object(request))
        serializer.is_valid(raise_exception=True)
        rejected = reject(collection, serializer.to_choice(), user=request.user)
        return Response(
            RejectResponseSerializer({"rejected": rejected}).data, status=status.HTTP_200_OK
        )

    @extend_schema(
        operation_id="collections_updates_approve",
        summary="Approve updates waiting for review",
        request=ApproveRequestSerializer,
        examples=APPROVE_EXAMPLES,
        responses={
            200: OpenApiResponse(
                RefreshResponseSerializer,
                description="The sync ran inline; here is its record. An entry `skipped` with "
                "reason `blocked_by_findings` was held back by the collection's "
                "`block_findings` (its findings are in `details.findings`).",
            ),
            202: OpenApiResponse(
                RefreshResponseSerializer,
                description="Queued for a background worker (asked for with `background`, or "
                "more artifacts than REFRESH_SYNC_MAX_ARTIFACTS). Poll the URL in `Location`.",
            ),
            400: NOT_PENDING,
            401: UNAUTHENTICATED,
            404: NOT_FOUND,
            409: APPROVE_CONFLICT,
            429: REFRESH_ERRORS[429],
            503: REFRESH_ERRORS[503],
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="updates/approve",
        throttle_classes=[RefreshThrottle],
        serializer_class=ApproveRequestSerializer,
    )
    def approve_updates(self, request: Request, pk: str | None = None) -> Response:
        """Take updates: a `sync` of exactly these artifacts at the commits that were reviewed.

        Each artifact is read at the proposal's `upstream_sha`, never at a newer head, even
        when upstream has moved on since: what was reviewed is what is taken. Metadata follows
        the usual rules (never erase, locked fields). Content whose findings are at or above
        the collection's `block_findings` is held back unless `accept_findings` is true. The
        answer is the run's RefreshResponse; a run can be rolled back like any other.
        """
        collection: Collection = self.get_object()
        serializer = ApproveRequestSerializer(data=body_object(request))
        serializer.is_valid(raise_exception=True)
        launched = approve(
            collection,
            serializer.to_choice(),
            trigger=Trigger.API,
            accept_findings=serializer.validated_data["accept_findings"],
            background=serializer.validated_data["background"],
            user=request.user,
            request_id=request_id_of(request),
            deadline_seconds=settings.REFRESH_INLINE_DEADLINE,
        )
        run = RefreshRun.objects.prefetch_related("entries").get(pk=launched.run.pk)
        body = RefreshResponseSerializer(run).data
        if launched.background:
            location = reverse("refresh-run-detail", kwargs={"pk": run.pk}).rstrip("/") + "/"
            return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})
        return Response(body, status=status.HTTP_200_OK)
