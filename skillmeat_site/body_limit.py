"""Refuse an API request body over DATA_UPLOAD_MAX_MEMORY_SIZE with a 413, before reading it.

Django checks the limit only when a body is read through `request.body` or its form parsers; DRF's
JSON parser reads the stream itself and would take a body of any size into memory. The
`Content-Length` is compared up front instead, for every body, multipart ones included: Django's
multipart parser does not count uploaded files, and no API path but the import takes one, so a
file part would otherwise be spooled to disk whatever its size. (A multipart field over the limit
without a `Content-Length` is still caught by Django, whose RequestDataTooBig the exception
handler turns into the same 413.)

A path that takes larger bodies by contract checks them itself against its own limit: the
`collection.toml` import (COLLECTION_IMPORT_MAX_BYTES, 5 MiB), whose parser refuses a larger
`Content-Length` before reading and reads no more than the limit.
"""

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from skillmeat_site.errors import PAYLOAD_TOO_LARGE, error_body, too_large_message

OWN_LIMIT_PATHS = re.compile(r"^/api/v1/collections/import/?$")


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and self._too_large(request):
            body = error_body(code=PAYLOAD_TOO_LARGE, message=too_large_message(), request=request)
            return JsonResponse(body, status=413)
        return self.get_response(request)

    @staticmethod
    def _too_large(request: HttpRequest) -> bool:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None:
            return False
        if OWN_LIMIT_PATHS.match(request.path):
            return False
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return length > limit
