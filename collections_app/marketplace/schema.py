"""OpenAPI declarations of the marketplace operations: every answer each can give."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from collections_app.marketplace.serializers import (
    MarketplaceManifestSerializer,
    MarketplaceSummarySerializer,
    ShareLinkCreatedSerializer,
    ShareLinkRequestSerializer,
    ShareLinkSerializer,
)
from skillmeat_site.schema import UNAUTHENTICATED, error

NOT_FOUND = error("No such collection, or it belongs to another user.", "not_found", "Not found.")
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="The `ETag` of a manifest you hold: a 304 when it is still the current one.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 304],
    required=True,
    description="The manifest's version: send it back in `If-None-Match`.",
)
_MANIFEST_EXAMPLE = {
    "name": "team-kit",
    "owner": {"name": "alice"},
    "description": "What our team uses.",
    "plugins": [
        {
            "name": "pdf",
            "description": "Read and fill PDF forms.",
            "category": "skill",
            "source": {
                "source": "git-subdir",
                "url": "https://github.com/acme/kit.git",
                "path": "skills/pdf",
                "sha": "4f2b8c1e7d4a4b6e9f1a2c3d4e5f6a7b8c9d0e1f",
                "ref": "main",
            },
            "strict": False,
            "skills": ["./"],
        }
    ],
}
MANIFEST_OK = OpenApiResponse(
    MarketplaceManifestSerializer,
    description="The manifest, with its `ETag`.",
    examples=[OpenApiExample("manifest", value=_MANIFEST_EXAMPLE, response_only=True)],
)
EMPTY = error(
    "No artifact of the collection can be pinned yet (none synced, or none with an upstream "
    "source): there is no manifest to serve. The summary lists what is left out and why.",
    "marketplace_empty",
    "This collection offers Claude Code no plugins yet: sync its artifacts first (2 left out; "
    "GET its marketplace summary says why).",
    {"omitted": 2},
)
NOT_MODIFIED = OpenApiResponse(
    None, description="The manifest is the one `If-None-Match` names (no body)."
)

MANIFEST = extend_schema(
    operation_id="collections_marketplace_manifest",
    summary="The collection as a Claude Code marketplace.json",
    parameters=[IF_NONE_MATCH, ETAG],
    responses={
        200: MANIFEST_OK,
        304: NOT_MODIFIED,
        401: UNAUTHENTICATED,
        404: NOT_FOUND,
        409: EMPTY,
    },
)
SUMMARY = extend_schema(
    operation_id="collections_marketplace",
    summary="What the collection's marketplace offers",
    responses={200: MarketplaceSummarySerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
)
LINKS_LIST = extend_schema(
    operation_id="collections_share_links_list",
    summary="List the collection's share links",
    responses={200: ShareLinkSerializer(many=True), 401: UNAUTHENTICATED, 404: NOT_FOUND},
)
LINKS_CREATE = extend_schema(
    operation_id="collections_share_links_create",
    summary="Make a share link for Claude Code",
    request=ShareLinkRequestSerializer,
    examples=[OpenApiExample("labelled", value={"label": "laptops"}, request_only=True)],
    responses={
        201: OpenApiResponse(
            ShareLinkCreatedSerializer, description="The link, with its URL (shown only here)."
        ),
        401: UNAUTHENTICATED,
        404: NOT_FOUND,
    },
)
LINKS_REVOKE = extend_schema(
    operation_id="collections_share_links_revoke",
    summary="Revoke a share link",
    responses={
        204: OpenApiResponse(None, description="Revoked: its URL answers 404 from now on."),
        401: UNAUTHENTICATED,
        404: error(
            "No such collection or share link (another user's, or already revoked).",
            "not_found",
            "No such share link.",
        ),
    },
)
SHARED = extend_schema(
    operation_id="marketplace_shared",
    summary="A collection's marketplace.json by share link (no login)",
    auth=[],
    tags=["marketplace"],
    parameters=[
        OpenApiParameter(
            "token",
            OpenApiTypes.STR,
            OpenApiParameter.PATH,
            description="The share link's secret token.",
        ),
        IF_NONE_MATCH,
        ETAG,
    ],
    responses={
        200: MANIFEST_OK,
        304: NOT_MODIFIED,
        404: error(
            "No live share link has this token (never made, or revoked): the same answer "
            "either way.",
            "not_found",
            "Not found.",
        ),
        409: EMPTY,
        429: error(
            "Too many manifest reads from this address (SHARE_LINK_THROTTLE_RATE); retry "
            "after the number of seconds in the Retry-After header.",
            "throttled",
            "Request was throttled. Expected available in 12 seconds.",
            {"retry_after": 12},
        ),
    },
)
