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


class AlreadyExists(ServiceError):
    """The request is valid but would create a second object under a name that must be unique.

    A conflict with what is stored, not bad input: the same request succeeds once the name is
    free, so it answers 409 (details name the field, as for `invalid_request`).
    """

    code = "already_exists"
    status = 409


class IdempotencyKeyReused(ServiceError):
    """An Idempotency-Key already used for another request (another body or collection).

    The request itself is valid; it conflicts with the run the key is bound to, hence 409.
    """

    code = "idempotency_key_reused"
    status = 409


class RollbackRefused(ServiceError):
    """The run cannot be rolled back in its state: a dry run or check, unfinished, or done."""

    code = "rollback_refused"
    status = 409
