"""A collection as a Claude Code marketplace over HTTP (SPEC 15).

`MarketplaceActions` is a mixin of CollectionViewSet (`collections/{id}/marketplace.json`,
`.../marketplace`, `.../share-links`); `SharedMarketplaceView` answers `/m/<token>/marketplace.json`
with no login. Both serve the manifest through `manifest_response`, computed from the database
on every request, with an ETag.
"""

import uuid

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from collections_app.marketplace import schema as docs
from collections_app.marketplace.links import (
    absolute_url,
    create_link,
    find_link,
    manifest_path,
    touch,
)
from collections_app.marketplace.manifest import Marketplace, etag_of
from collections_app.marketplace.rows import marketplace_of
from collections_app.marketplace.serializers import (
    MarketplaceSummarySerializer,
    ShareLinkCreatedSerializer,
    ShareLinkRequestSerializer,
    ShareLinkSerializer,
)
from collections_app.models import Collection, ShareLink
from collections_app.paths import UUID_PATH
from collections_app.querysets import visible_collections
from collections_app.refresh_serializers import body_object
from collections_app.throttling import AtomicUserRateThrottle
from refresher.exceptions import MarketplaceEmpty


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def manifest_response(request: Request, marketplace: Marketplace) -> HttpResponse:
    """The manifest as JSON with its ETag; 304 when the client holds that version already.

    A manifest without plugins is not served (409 `marketplace_empty`): Claude Code's
    `validate --strict` fails one, and every manifest the site serves passes it.
    """
    if not marketplace.manifest["plugins"]:
        omitted = len(marketplace.omitted)
        raise MarketplaceEmpty(
            "This collection offers Claude Code no plugins yet: sync its artifacts first "
            f"({omitted} left out; GET its marketplace summary says why).",
            details={"omitted": omitted},
        )
    body = marketplace.body()
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _matches(request.headers.get("If-None-Match", ""), etag):
        return HttpResponse(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return HttpResponse(body, content_type="application/json", headers=headers)


class MarketplaceActions(GenericViewSet):  # type: ignore[type-arg]
    """`collections/{id}/marketplace.json`, `.../marketplace`, `.../share-links[/{link_id}]`."""

    def _collection(self, pk: str | None) -> Collection:
        # Only the collection and its owner: the viewset's own queryset also counts artifacts.
        collection: Collection = get_object_or_404(visible_collections(self.request.user), pk=pk)
        return collection

    @docs.MANIFEST
    @action(detail=True, methods=["get"], url_path="marketplace.json", filter_backends=[])
    def marketplace_manifest(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The collection as a Claude Code plugin marketplace (`marketplace.json`).

        One plugin per artifact that can be pinned (an upstream GitHub or git source, synced at
        least once), each fetched from the commit the collection last synced. Computed on every
        request; send the `ETag` back in `If-None-Match` for a 304. Claude Code cannot send your
        token: give it a share link's URL instead.
        """
        return manifest_response(request, marketplace_of(self._collection(pk)))

    @docs.SUMMARY
    @action(detail=True, methods=["get"], url_path="marketplace", filter_backends=[])
    def marketplace_summary(self, request: Request, pk: str | None = None) -> Response:
        """What the marketplace offers: the plugin count, the artifacts left out and why (no
        upstream, a source the site does not read, never synced, a hook or MCP file holding no
        configuration), the number of share links, and the manifest's URL."""
        collection = self._collection(pk)
        marketplace = marketplace_of(collection)
        path = reverse("collection-marketplace-manifest", kwargs={"pk": collection.pk})
        summary = {
            "name": marketplace.manifest["name"],
            "manifest_url": absolute_url(request, path),
            "plugins": len(marketplace.manifest["plugins"]),
            "omitted": marketplace.omitted,
            "share_links": ShareLink.objects.filter(collection=collection).count(),
        }
        return Response(MarketplaceSummarySerializer(summary).data)

    @docs.LINKS_LIST
    @action(
        detail=True,
        methods=["get"],
        url_path="share-links",
        serializer_class=ShareLinkSerializer,
        filter_backends=[],
    )
    def share_links(self, request: Request, pk: str | None = None) -> Response:
        """The collection's live share links, oldest first. Their tokens are not kept, so no
        answer shows them again: revoke a lost link and make another."""
        collection = self._collection(pk)
        page = self.paginate_queryset(ShareLink.objects.filter(collection=collection))
        return self.get_paginated_response(ShareLinkSerializer(page, many=True).data)

    @docs.LINKS_CREATE
    @share_links.mapping.post
    def create_share_link(self, request: Request, pk: str | None = None) -> Response:
        """Make a share link: a URL Claude Code reads the manifest from without a token
        (`claude plugin marketplace add <url>`). The URL is in this answer only."""
        collection = self._collection(pk)
        serializer = ShareLinkRequestSerializer(data=body_object(request))
        serializer.is_valid(raise_exception=True)
        label = serializer.validated_data.get("label", "")
        made = create_link(collection, label=label, user=request.user)
        body = {
            "id": made.link.pk,
            "label": made.link.label,
            "url": absolute_url(request, manifest_path(made.token)),
            "created_at": made.link.created_at,
        }
        return Response(ShareLinkCreatedSerializer(body).data, status=status.HTTP_201_CREATED)

    @docs.LINKS_REVOKE
    @action(
        detail=True,
        methods=["delete"],
        url_path=rf"share-links/(?P<link_id>{UUID_PATH})",
        filter_backends=[],
    )
    def revoke_share_link(
        self, request: Request, pk: str | None = None, link_id: str | None = None
    ) -> Response:
        """Revoke a share link at once: its URL answers 404 from now on."""
        collection = self._collection(pk)
        deleted, _ = ShareLink.objects.filter(
            collection=collection, pk=uuid.UUID(str(link_id))
        ).delete()
        if not deleted:
            raise NotFound("No such share link.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShareLinkThrottle(AtomicUserRateThrottle):
    """Manifest reads by share link per client address (SHARE_LINK_THROTTLE_RATE)."""

    scope = "share_link"


class SharedMarketplaceView(APIView):
    """`GET /m/<token>/marketplace.json`: a collection's manifest for Claude Code, no login."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ShareLinkThrottle]

    @docs.SHARED
    def get(self, request: Request, token: str) -> HttpResponse:
        """The manifest of the collection this share link belongs to: the same answer as the
        owner's `collections/{id}/marketplace.json`. An unknown or revoked token is a 404."""
        link = find_link(token)
        if link is None:
            raise NotFound()
        touch(link)
        return manifest_response(request, marketplace_of(link.collection))
