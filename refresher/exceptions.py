"""Domain errors of the refresh engine, all on one base.

Every error carries a stable `code` and a `message` for people. `ServiceError`s end a request: each
also carries the HTTP `status` of SPEC section 6, and the one exception handler in
`skillmeat_site.errors` turns them into the RefreshError body. `ArtifactError`s and `ReadSkipped`
end only one artifact's refresh and become its entry's `error_code` or `reason`. Nothing here knows
about HTTP frameworks, so the admin, the command line and the task worker can catch them too. (The
GitHub transport's own `GitHubError` lives beside its client in `refresher.upstream.github.client`.)
"""

from collections.abc import Callable, Mapping


class RefresherError(Exception):
    """The base of every domain error: a stable `code` and a `message` for people."""

    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __reduce__(
        self,
    ) -> tuple[
        Callable[[type["RefresherError"], dict[str, object]], "RefresherError"],
        tuple[type["RefresherError"], dict[str, object]],
    ]:
        # Exceptions pickle through their positional args by default, which the subclasses'
        # constructors do not all take back; errors may cross a process boundary in task backends.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[RefresherError], state: dict[str, object]) -> RefresherError:
    error = cls.__new__(cls)
    Exception.__init__(error, state["message"])
    error.__dict__.update(state)
    return error


# -- errors that end a request ----------------------------------------------------------------


class ServiceError(RefresherError):
    """An error the service reports to its caller with a stable code and an HTTP status."""

    status = 500

    def __init__(
        self,
        message: str,
        *,
        details: Mapping[str, object] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
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


class RefreshInProgress(ServiceError):
    """Another run of the same collection is queued or running (details.run_id names it)."""

    code = "refresh_in_progress"
    status = 409


class RunAbandoned(RefreshInProgress):
    """The run lost its hold on the collection before it could apply (its lease expired and
    another run took over, or the collection was deleted); it applied nothing."""

    def __init__(self, run_id: str) -> None:
        super().__init__(
            "The run lost its hold on the collection before applying; nothing was written.",
            details={"run_id": run_id},
        )


class UpstreamUnavailable(ServiceError):
    """GitHub could not be read at all: unreachable or rate limited before any artifact was read."""

    code = "upstream_unavailable"
    status = 503


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


class MarketplaceEmpty(ServiceError):
    """A collection with no artifact Claude Code could install: no manifest to serve."""

    code = "marketplace_empty"
    status = 409


class NothingPending(ServiceError):
    """An approval or rejection of "all" pending updates when none is waiting for review."""

    code = "nothing_pending"
    status = 409


class PayloadTooLarge(ServiceError):
    """A request body (e.g. an uploaded manifest) over the size the site accepts."""

    code = "payload_too_large"
    status = 413


# -- errors that end one artifact's refresh ---------------------------------------------------


class InvalidSource(RefresherError, ValueError):
    """A source spec that is not a valid GitHub spec (SPEC section 3)."""

    code = "invalid_source"


class ArtifactError(RefresherError):
    """One artifact could not be refreshed; `code` is its entry error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class ReadFailed(ArtifactError):
    """This artifact could not be read upstream."""


class GitFailed(ArtifactError):
    """A git command failed or timed out; `code` is the entry error code its message maps to."""


class MetadataError(ArtifactError):
    """The artifact's main file cannot be read as metadata."""


class ReadSkipped(RefresherError):
    """This artifact was not read at all (rate limit or deadline); `reason` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=reason)
        self.reason = reason


class ReadByRest(RefresherError):
    """GraphQL could not read this (its query failed as a whole, also halved); the REST plan
    reads it instead. Never reaches an entry: the GraphQL reader hands such artifacts on."""

    code = "read_by_rest"


# -- refused settings and inputs of the keep-fresh features (SPEC 13) --------------------------


class InvalidSchedule(RefresherError, ValueError):
    """A refresh schedule that is not a cron expression we accept, or that fires too often."""

    code = "invalid_schedule"


class OutboundRefused(RefresherError, ValueError):
    """A notification URL, or the address it resolves to, that we do not send requests to."""

    code = "outbound_refused"


class InvalidPush(RefresherError, ValueError):
    """A GitHub push payload without the parts matching needs."""

    code = "invalid_request"


# -- credentials (SPEC 16) ----------------------------------------------------------------------


class CredentialsDisabled(ServiceError):
    """The site has no CREDENTIAL_KEYS, so it cannot keep a secret safely: nothing is stored."""

    code = "credentials_disabled"
    status = 400

    def __init__(self) -> None:
        super().__init__(
            "This site stores no credentials: CREDENTIAL_KEYS is not set. An operator sets it to a "
            "Fernet key (see .env.example) to enable them.",
            details={"setting": "CREDENTIAL_KEYS"},
        )


class SecretUnreadable(RefresherError):
    """A stored secret that none of CREDENTIAL_KEYS decrypts (a key was removed too early)."""

    code = "secret_unreadable"


class AppKeyError(RefresherError, ValueError):
    """A GitHub App private key the site cannot sign with; the message says why, never the key."""

    code = "invalid_app_key"


class InvalidCredential(RefresherError, ValueError):
    """A value a credential cannot hold; `field` names it for the error's details."""

    code = "invalid_credential"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
