"""The one place where errors become HTTP answers.

Every 4xx/5xx of the API has the RefreshError body `{code, message, details, request_id}`: DRF's
exceptions, Django's 404s, the refresher's domain errors and anything unexpected (a 500 that never
shows the exception text).
"""

import logging
import math
from collections.abc import Mapping
from typing import TypedDict

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from refresher.exceptions import ServiceError
from skillmeat_site.request_id import request_id_of

logger = logging.getLogger("skillmeat_site.errors")

_DRF_CODES: list[tuple[type[Exception], str, str]] = [
    (drf.NotAuthenticated, "not_authenticated", "Authentication credentials were not provided."),
    (drf.AuthenticationFailed, "not_authenticated", "Invalid authentication credentials."),
    (drf.PermissionDenied, "permission_denied", "You do not have permission to do this."),
    (drf.NotFound, "not_found", "Not found."),
    (drf.MethodNotAllowed, "method_not_allowed", "Method not allowed."),
    (drf.NotAcceptable, "not_acceptable", "The requested representation is not available."),
    (drf.UnsupportedMediaType, "unsupported_media_type", "Unsupported media type."),
    (drf.Throttled, "throttled", "Too many requests."),
    (drf.ParseError, "invalid_request", "The request body is not valid JSON."),
    (drf.ValidationError, "invalid_request", "The request is not valid."),
]


class ErrorBody(TypedDict):
    """The body of every error answer (SPEC 6)."""

    code: str
    message: str
    details: Mapping[str, object] | None
    request_id: str


class ExceptionContext(TypedDict, total=False):
    """What DRF hands its exception handler besides the exception."""

    view: APIView
    args: tuple[object, ...]
    kwargs: dict[str, object]
    request: Request | None


def error_body(
    *,
    code: str,
    message: str,
    details: Mapping[str, object] | None = None,
    request: HttpRequest | Request | None = None,
) -> ErrorBody:
    return {
        "code": code,
        "message": message,
        "details": details,
        "request_id": request_id_of(request),
    }


def _validation_details(detail: object) -> dict[str, object]:
    """DRF gives a dict (field -> messages) or a bare list; details is always field -> messages."""
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def _first_message(details: Mapping[str, object]) -> str:
    for field, messages in details.items():
        first = messages[0] if isinstance(messages, list) and messages else messages
        if isinstance(first, dict):
            return f"{field}: {_first_message(first)}"
        prefix = "" if field == "non_field_errors" else f"{field}: "
        return f"{prefix}{first}"
    return "The request is not valid."


PAYLOAD_TOO_LARGE = "payload_too_large"


def too_large_message() -> str:
    return (
        f"The request body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes "
        "this site accepts."
    )


def exception_handler(exc: Exception, context: ExceptionContext) -> Response:
    request = context.get("request")
    headers: dict[str, str] = {}

    if isinstance(exc, RequestDataTooBig):
        # Raised by Django while parsing a multipart or form body whose fields are too big.
        body = error_body(code=PAYLOAD_TOO_LARGE, message=too_large_message(), request=request)
        return Response(body, status=413)

    if isinstance(exc, ServiceError):
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        body = error_body(code=exc.code, message=exc.message, details=exc.details, request=request)
        return Response(body, status=exc.status, headers=headers)

    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()

    if isinstance(exc, drf.APIException):
        details: Mapping[str, object] | None = None
        message = str(exc.detail) if isinstance(exc.detail, str) else ""
        code = "internal_error"
        for kind, kind_code, default_message in _DRF_CODES:
            if isinstance(exc, kind):
                code = kind_code
                message = message or default_message
                break
        if isinstance(exc, drf.ValidationError):
            details = _validation_details(exc.detail)
            message = _first_message(details)
        wait = getattr(exc, "wait", None)  # Throttled sets it; the stubs do not declare it
        if isinstance(exc, drf.Throttled) and wait is not None:
            headers["Retry-After"] = str(math.ceil(wait))
            details = {"retry_after": math.ceil(wait)}
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        if code == "internal_error":
            message = "Internal server error."
        body = error_body(code=code, message=message, details=details, request=request)
        return Response(body, status=exc.status_code, headers=headers)

    logger.exception("unhandled error while serving %s", getattr(request, "path", "?"))
    # Django's error reporting (and the error trackers that listen to it, such as Sentry's)
    # hears of the exception as it would of one no handler caught: we answer the 500 ourselves.
    got_request_exception.send(sender=None, request=getattr(request, "_request", request))
    body = error_body(code="internal_error", message="Internal server error.", request=request)
    return Response(body, status=500)


def json_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 for paths no route matches (including malformed ids in API paths).

    API paths and share links (`/m/...`) answer in the error shape; the admin and other pages
    keep Django's HTML page.
    """
    if not request.path.startswith(("/api/", "/m/")):
        return defaults.page_not_found(request, exception or Http404())
    return JsonResponse(
        error_body(code="not_found", message="Not found.", request=request), status=404
    )


def json_500(request: HttpRequest) -> HttpResponse:
    if not request.path.startswith("/api/"):
        return defaults.server_error(request)
    return JsonResponse(
        error_body(code="internal_error", message="Internal server error.", request=request),
        status=500,
    )
