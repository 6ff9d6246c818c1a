"""OpenAPI pieces shared by every endpoint: the RefreshError body and the error responses."""

from typing import Any

from drf_spectacular.openapi import AutoSchema as DefaultAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

Direction = Any


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


def error(description: str, code: str, message: str, details: Any = None) -> OpenApiResponse:
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
PAYLOAD_TOO_LARGE = error(
    "The request body is larger than the site accepts (DATA_UPLOAD_MAX_MEMORY_SIZE bytes, "
    "2.5 MiB by default).",
    "payload_too_large",
    "The request body is larger than the 2621440 bytes this site accepts.",
)


THROTTLED = error(
    "Too many refreshes; retry after the number of seconds in the Retry-After header.",
    "throttled",
    "Request was throttled. Expected available in 12 seconds.",
    {"retry_after": 12},
)


class AutoSchema(DefaultAutoSchema):
    """Adds the error answers every operation can give, so each documents its RefreshError cases.

    Operations that document an error status themselves keep their own description.
    """

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        extra: dict[int, OpenApiResponse] = {}
        if not any(p is AllowAny for p in self.view.permission_classes):
            extra[401] = UNAUTHENTICATED
        if "{" in self.path:
            extra[404] = NOT_FOUND
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            extra[400] = BAD_REQUEST
        if self.method in ("POST", "PUT", "PATCH"):
            extra[413] = PAYLOAD_TOO_LARGE
        for code, response in extra.items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(response, str(code))
        return responses


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
        "The collection already has a queued or running refresh.",
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
