"""Every request gets an id: the client's `X-Request-ID` when it sent a sane one, else a new one.

The id is echoed on every response, put into every error body and every log line, and recorded on
refresh runs, so one string ties a user's report to the server's logs.
"""

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request

from skillmeat_site.logs import request_id_var

HEADER = "X-Request-ID"
_SAFE = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


def current_request_id() -> str:
    """The id of the request being served in this context, or "-" outside a request."""
    return request_id_var.get()


def request_id_of(request: HttpRequest | Request | None) -> str:
    # DRF's Request hands attribute reads on to the HttpRequest the middleware named.
    return getattr(request, "request_id", None) or current_request_id()


class RequestIDMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(HEADER, "")
        request_id = sent if _SAFE.match(sent) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request_id
        return response
