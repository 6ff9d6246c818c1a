"""Request reading and OpenAPI pieces of the manifest import and export actions."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework.request import Request

from collections_app.manifest.serializers import ImportResultSerializer, ManifestUploadSerializer
from collections_app.manifest.toml_http import TOML_BODY, TOML_MEDIA_TYPE, too_large
from refresher.exceptions import InvalidRequest
from skillmeat_site.schema import UNAUTHENTICATED, error

_TRUE = ("true", "1")
_FALSE = ("false", "0")


def manifest_body(request: Request) -> bytes:
    """The uploaded manifest: the TOML body itself, or the multipart field `file`."""
    data = request.data
    if isinstance(data, dict) and isinstance(data.get(TOML_BODY), bytes):
        body = data[TOML_BODY]
    else:
        upload = request.FILES.get("file")
        if upload is None:
            if request.FILES or (hasattr(data, "keys") and list(data.keys())):
                raise InvalidRequest(
                    "Upload the manifest in the multipart field 'file'.",
                    details={"file": ["No file was uploaded in the field 'file'."]},
                )
            raise InvalidRequest(
                "The request has no manifest: send it as an application/toml body or as a "
                "multipart upload in the field 'file'.",
                details={"manifest": ["The request body is empty."]},
            )
        limit = settings.COLLECTION_IMPORT_MAX_BYTES
        if upload.size is not None and upload.size > limit:
            raise too_large(limit)
        body = upload.read(limit + 1)
        if len(body) > limit:
            raise too_large(limit)
    if not body.strip():
        raise InvalidRequest(
            "The manifest is empty.", details={"manifest": ["The manifest is empty."]}
        )
    return body


def import_options(request: Request) -> tuple[str | None, bool]:
    """`?name=` and `?dry_run=` of an import; a malformed value is a 400, not a guess."""
    problems: dict[str, list[str]] = {}
    name = request.query_params.get("name")
    if name is not None and not name.strip():
        problems["name"] = ["A collection name must not be blank."]
    flag = request.query_params.get("dry_run", "false").strip().lower()
    if flag not in _TRUE + _FALSE:
        problems["dry_run"] = ["Must be true or false."]
    if problems:
        place, messages = next(iter(problems.items()))
        raise InvalidRequest(f"{place}: {messages[0]}", details=problems)
    return name, flag in _TRUE


NAME_PARAMETER = OpenApiParameter(
    "name",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="Import into the collection of this name instead of the manifest's "
    "`[collection] name`.",
)
DRY_RUN_PARAMETER = OpenApiParameter(
    "dry_run",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    description="Report what the import would do and write nothing.",
)

IMPORT_REQUEST: dict[str, OpenApiTypes | type[ManifestUploadSerializer]] = {
    TOML_MEDIA_TYPE: OpenApiTypes.STR,
    "multipart/form-data": ManifestUploadSerializer,
}
_RESULT_EXAMPLE = {
    "collection_id": "3f2b8c1e-7d4a-4b6e-9f1a-2c3d4e5f6a7b",
    "created": True,
    "dry_run": False,
    "artifacts": [{"type": "skill", "name": "pdf", "status": "created", "reason": None}],
}
IMPORT_RESPONSES: dict[int, OpenApiResponse] = {
    201: OpenApiResponse(
        ImportResultSerializer,
        description="The collection was created with the manifest's artifacts.",
        examples=[OpenApiExample("created", value=_RESULT_EXAMPLE, response_only=True)],
    ),
    200: OpenApiResponse(
        ImportResultSerializer,
        description="The collection existed and was updated in place, or this was a dry run "
        "(nothing written).",
    ),
    400: error(
        "The manifest is not TOML, or has invalid entries (each named in `details`), or is "
        "shaped to keep the parser busy (a dotted key deeper than 32 parts, nesting deeper than "
        "32, more keys and values than 25 per allowed artifact), or holds more than "
        "IMPORT_MAX_ARTIFACTS (5,000 by default) artifacts, or a query parameter is malformed; "
        "nothing was imported.",
        "invalid_request",
        "The manifest has 1 invalid entry (artifacts[2] (skill:pdf)); nothing was imported.",
        {"artifacts[2] (skill:pdf)": ["path: must not contain '..'."]},
    ),
    401: UNAUTHENTICATED,
    413: error(
        "The manifest is larger than COLLECTION_IMPORT_MAX_BYTES (5 MiB by default).",
        "payload_too_large",
        "The manifest is larger than 5242880 bytes.",
        {"max_bytes": 5242880},
    ),
    429: error(
        "Too many imports (IMPORT_THROTTLE_RATE); retry after the number of seconds in the "
        "Retry-After header.",
        "throttled",
        "Request was throttled. Expected available in 12 seconds.",
        {"retry_after": 12},
    ),
    415: error(
        "The body is neither application/toml nor multipart/form-data.",
        "unsupported_media_type",
        'Unsupported media type "application/json" in request.',
    ),
}

JSON = "application/json"
EXPORT_RESPONSES: dict[tuple[int, str], OpenApiResponse] = {
    (200, TOML_MEDIA_TYPE): OpenApiResponse(
        OpenApiTypes.STR,
        description="The collection as a collection.toml, sent as an attachment "
        '(`Content-Disposition: attachment; filename="<name>.toml"`).',
    ),
    (401, JSON): UNAUTHENTICATED,
    (404, JSON): error(
        "No such collection, or it belongs to another user.", "not_found", "Not found."
    ),
    (406, JSON): error(
        "The Accept header does not allow application/toml.",
        "not_acceptable",
        "Could not satisfy the request Accept header.",
    ),
}
