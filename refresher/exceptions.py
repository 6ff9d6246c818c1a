"""Domain errors of the refresh engine.

Each carries the API error `code` and HTTP `status` of SPEC section 6; the one exception handler in
`skillmeat_site.errors` turns them into the RefreshError body. Nothing here knows about HTTP
frameworks, so the admin, the command line and the task worker can catch them too.
"""

from typing import Any


class ServiceError(Exception):
    """An error the service reports to its caller with a stable code."""

    code = "internal_error"
    status = 500

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.retry_after = retry_after


class InvalidRequest(ServiceError):
    code = "invalid_request"
    status = 400


class NotFound(ServiceError):
    code = "not_found"
    status = 404


class InvalidSignature(ServiceError):
    """A webhook whose signature is missing, malformed or does not match the body."""

    code = "invalid_signature"
    status = 401


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"
    status = 413


class RefreshInProgress(ServiceError):
    """Another run of the same collection is queued or running (details.run_id names it)."""

    code = "refresh_in_progress"
    status = 409


class UpstreamUnavailable(ServiceError):
    """GitHub could not be read at all: unreachable or rate limited before any artifact was read."""

    code = "upstream_unavailable"
    status = 503


class InvalidSource(ValueError):
    """A source spec that is not a valid GitHub spec (SPEC section 3)."""
