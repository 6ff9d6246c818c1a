"""OpenAPI pieces shared by every endpoint: the RefreshError body and the error responses."""

from collections.abc import Mapping

from drf_spectacular.openapi import AutoSchema as DefaultAutoSchema
from drf_spectacular.utils import Direction, OpenApiExample, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings

from collections_app import fields as field_patterns


class RefreshErrorSerializer(serializers.Serializer):
    """The body of every 4xx and 5xx answer of the API."""

    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `not_found`.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.JSONField(
        allow_null=True,
        help_text="More about the error (field -> messages for `invalid_request`), or null.",
    )
    request_id = serializers.CharField(help_text="Echoes the X-Request-ID response header.")

    class Meta:
        ref_name = "RefreshError"


def error(
    description: str, code: str, message: str, details: Mapping[str, object] | None = None
) -> OpenApiResponse:
    return OpenApiResponse(
        response=RefreshErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={
                    "code": code,
                    "message": message,
                    "details": details,
                    "request_id": "4f9c2a7d0e6b4c8e9a1b2c3d4e5f6a7b",
                },
                response_only=True,
            )
        ],
    )


BAD_REQUEST = error(
    "The request is not valid; `details` maps each field to its messages.",
    "invalid_request",
    "name: This field is required.",
    {"name": ["This field is required."]},
)
UNAUTHENTICATED = error(
    "No or invalid credentials.",
    "not_authenticated",
    "Authentication credentials were not provided.",
)
NOT_FOUND = error("No such object, or it belongs to another user.", "not_found", "Not found.")
REFERENCE_NOT_FOUND = error(
    "An object the body refers to (e.g. its `collection`) does not exist or is not yours.",
    "not_found",
    "No such collection.",
    {"collection": ["No such collection."]},
)
PAGE_NOT_FOUND = error("The page number is past the last page.", "not_found", "Invalid page.")
NOT_ACCEPTABLE = error(
    "No representation the `Accept` header allows (the API answers JSON).",
    "not_acceptable",
    "Could not satisfy the request Accept header.",
)
UNSUPPORTED_MEDIA_TYPE = error(
    "The body's Content-Type is none of those this operation reads.",
    "unsupported_media_type",
    'Unsupported media type "text/plain" in request.',
)
PAYLOAD_TOO_LARGE = error(
    "The request body is larger than the site accepts (DATA_UPLOAD_MAX_MEMORY_SIZE bytes, "
    "2.5 MiB by default).",
    "payload_too_large",
    "The request body is larger than the 2621440 bytes this site accepts.",
)
NAME_TAKEN = error(
    "The name is already taken (per owner for collections, per collection and type for "
    "artifacts); `details` names the field.",
    "already_exists",
    "You already have a collection with this name.",
    {"name": ["You already have a collection with this name."]},
)


THROTTLED = error(
    "Too many refreshes; retry after the number of seconds in the Retry-After header.",
    "throttled",
    "Request was throttled. Expected available in 12 seconds.",
    {"retry_after": 12},
)


# An action whose body is required although no serializer says so (e.g. an upload) sets this.
BODY_REQUIRED = "openapi_body_required"
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Serializers whose unknown keys are a 400 say so with this attribute; their request schema then
# carries `additionalProperties: false`.
REJECTS_UNKNOWN_KEYS = "rejects_unknown_keys"


class AutoSchema(DefaultAutoSchema):
    """Documents what the server enforces, so the OpenAPI document is the truth about it.

    Every operation gets the error answers it can give in the RefreshError shape (an operation
    that documents an error status itself keeps its own description); request schemas say which
    objects refuse unknown keys and which strings must not be blank once stripped.
    """

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, object]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        has_body = self.method in ("POST", "PUT", "PATCH")
        extra: dict[int, OpenApiResponse] = {}
        if has_body or self._is_list_view():
            extra[400] = BAD_REQUEST
        if not any(p is AllowAny for p in self.view.permission_classes):
            extra[401] = UNAUTHENTICATED
        if "{" in self.path:
            extra[404] = NOT_FOUND
        elif self._is_list_view() and self._is_paginated():
            extra[404] = PAGE_NOT_FOUND
        elif has_body and self._request_refers_to_objects():
            extra[404] = REFERENCE_NOT_FOUND
        extra[406] = NOT_ACCEPTABLE
        conflict = getattr(self.view, "openapi_conflict", None)
        if conflict is not None and self._writes_the_object():
            extra[409] = conflict
        if has_body:
            extra[413] = PAYLOAD_TOO_LARGE
            extra[415] = UNSUPPORTED_MEDIA_TYPE
        for code, response in extra.items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(response, str(code))
        return dict(sorted(responses.items()))

    def _writes_the_object(self) -> bool:
        """create/update/partial_update: where a view's `openapi_conflict` (a 409) applies."""
        return getattr(self.view, "action", None) in ("create", "update", "partial_update")

    def _request_refers_to_objects(self) -> bool:
        serializer = self.get_request_serializer()
        fields = getattr(serializer, "fields", {})
        return any(
            isinstance(f, serializers.RelatedField) and not f.read_only for f in fields.values()
        )

    def _is_paginated(self) -> bool:
        return getattr(self.view, "pagination_class", None) is not None

    def _get_request_body(self, direction: Direction = "request") -> dict[str, object] | None:
        body = super()._get_request_body(direction)
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None)
        if isinstance(body, dict) and getattr(handler, BODY_REQUIRED, False):
            body["required"] = True
        return body

    def map_parsers(self) -> list[str]:
        """JSON bodies, unless a view chose its own parsers (e.g. an upload).

        The default form parsers stay for the browsable API's forms, but a form cannot say what
        the schema says (numbers, null, nested objects), so the document names JSON alone.
        """
        media_types = super().map_parsers()
        if list(self.view.parser_classes) != list(api_settings.DEFAULT_PARSER_CLASSES):
            return media_types
        return [m for m in media_types if m not in FORM_MEDIA_TYPES] or media_types

    def _map_basic_serializer(self, serializer: object, direction: Direction) -> dict[str, object]:
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, REJECTS_UNKNOWN_KEYS, False):
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(
        self, field: serializers.Field, direction: Direction, bypass_extensions: bool = False
    ) -> dict[str, object]:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and isinstance(schema, dict)
            and "pattern" not in schema
        ):
            # DRF strips the text before checking it, so "   " is refused as blank.
            schema["pattern"] = field_patterns.NOT_BLANK_PATTERN
        return schema


REFRESH_ERRORS: dict[int, OpenApiResponse] = {
    400: error(
        "Invalid mode, fields, filter or body; nothing was started.",
        "invalid_request",
        "fields: unknown field(s) size; valid fields are description, title, author, "
        "license, topics",
        {
            "fields": [
                "unknown field(s) size; valid fields are description, title, author, "
                "license, topics"
            ]
        },
    ),
    401: UNAUTHENTICATED,
    404: error("No such collection, or it belongs to another user.", "not_found", "Not found."),
    409: error(
        "The collection already has a queued or running refresh (`refresh_in_progress`, "
        "`details.run_id` names it), or the Idempotency-Key was used for another request "
        "(`idempotency_key_reused`).",
        "refresh_in_progress",
        "This collection is already being refreshed.",
        {"run_id": "8d0f1c3e-5b7a-4e2d-9c4f-1a2b3c4d5e6f"},
    ),
    429: THROTTLED,
    503: error(
        "GitHub was unreachable, rate limited, paused by a secondary rate limit or refused the "
        "token before any artifact could be read (a run that starts while the shared quota is "
        "paused or spent sends nothing); the run is recorded as failed and nothing was changed. "
        "Retry-After tells when to try again.",
        "upstream_unavailable",
        "GitHub could not be read for any artifact; nothing was changed.",
        {"run_id": "8d0f1c3e-5b7a-4e2d-9c4f-1a2b3c4d5e6f"},
    ),
}


DISCOVER_ERRORS: dict[int, OpenApiResponse] = {
    400: error(
        "An invalid source (or a git host that is not allowed), an unknown type, or too many "
        "artifacts under the path; nothing was added.",
        "invalid_request",
        "source: git host 'example.com' is not allowed (GIT_ALLOWED_HOSTS)",
        {"source": ["Invalid source: git host 'example.com' is not allowed (GIT_ALLOWED_HOSTS)."]},
    ),
    401: UNAUTHENTICATED,
    404: error("No such collection, or it belongs to another user.", "not_found", "Not found."),
    409: error(
        "`refresh` was asked for and the collection already has a queued or running refresh; "
        "nothing was added.",
        "refresh_in_progress",
        "This collection is already being refreshed; nothing was added.",
        {"run_id": "8d0f1c3e-5b7a-4e2d-9c4f-1a2b3c4d5e6f"},
    ),
    429: THROTTLED,
    503: error(
        "The repository's host was unreachable or rate limited; nothing was added.",
        "upstream_unavailable",
        "The repository could not be read: GitHub is unavailable.",
        {"reason": "upstream_unavailable"},
    ),
}

DISCOVER_EXAMPLES = [
    OpenApiExample(
        "Preview a repository's skills and agents",
        value={"source": "acme/claude-kit", "types": ["skill", "agent"], "dry_run": True},
        request_only=True,
    ),
    OpenApiExample(
        "Add a GitLab repository's artifacts and sync them",
        value={"source": "git+https://gitlab.com/acme/kit.git//plugins@main", "refresh": True},
        request_only=True,
    ),
]
