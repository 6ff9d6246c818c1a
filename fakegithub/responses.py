"""Answers in GitHub's shapes: JSON bodies, error bodies, and conditional requests."""

from __future__ import annotations

import hashlib
import json
from email.utils import parsedate_to_datetime

from werkzeug.wrappers import Request, Response

from .errors import GitHubFailure
from .json_types import JSON
from .store import JSON_TYPE


def json_response(payload: JSON, *, status: int = 200) -> Response:
    """A JSON answer with GitHub's content type."""
    return Response(json.dumps(payload), status=status, content_type=JSON_TYPE)


def error_response(failure: GitHubFailure) -> Response:
    """The error body GitHub sends for ``failure`` (its headers are the caller's to add)."""
    return json_response(failure.body(), status=failure.status)


def _still_fresh(request: Request, etag: str, last_modified: str | None) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in candidates or "*" in candidates
    if last_modified and request.headers.get("If-Modified-Since"):
        try:
            since = parsedate_to_datetime(request.headers["If-Modified-Since"])
            return parsedate_to_datetime(last_modified) <= since
        except (TypeError, ValueError):
            return False
    return False


def conditional(request: Request, response: Response) -> Response:
    """Add a strong ETag to a 200 and answer 304 when the client's validator still holds."""
    if response.status_code != 200:
        return response
    etag = '"' + hashlib.sha256(response.get_data()).hexdigest() + '"'
    response.headers["ETag"] = etag
    last_modified = response.headers.get("Last-Modified")
    if not _still_fresh(request, etag, last_modified):
        return response
    not_modified = Response(status=304)
    not_modified.headers["ETag"] = etag
    if last_modified:
        not_modified.headers["Last-Modified"] = last_modified
    return not_modified
