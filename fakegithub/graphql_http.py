"""`POST /graphql` over HTTP as GitHub answers it: auth, injected faults, quota, timing."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from .errors import GRAPHQL_AUTH_DOCS_URL, GRAPHQL_DOCS_URL, GitHubFailure
from .faults import Faults
from .graphql import GraphQLEndpoint
from .graphql_schema import schema_path
from .identities import Identities, Identity
from .json_types import JSONObject
from .responses import json_response

_TIMEOUT_MESSAGE = (
    "Something went wrong while executing your query. This may be the result of a timeout, "
    "or it could be a GitHub bug."
)


@dataclass(frozen=True)
class GraphQLService:
    """What answering a GraphQL request needs from the fake around it."""

    endpoint: GraphQLEndpoint
    faults: Faults
    identities: Identities  # who each token is: its quota of points, what it may read
    stopping: threading.Event  # set when the fake stops: sleeping answers wake up


def _reply(status: int, body: JSONObject, headers: dict[str, str] | None = None) -> Response:
    response = json_response(body, status=status)
    response.headers.update(headers or {})
    return response


def _caller(service: GraphQLService, request: Request, authorization: str) -> Identity | Response:
    """Who sends the query, or GitHub's answer to a request that never reaches it: wrong
    method, no token, a token GitHub does not accept."""
    if request.method != "POST":
        return _reply(404, {"message": "Not Found", "documentation_url": GRAPHQL_DOCS_URL})
    if not authorization:
        # GitHub's GraphQL API has no anonymous access.
        message = "This endpoint requires you to be authenticated."
        return _reply(401, {"message": message, "documentation_url": GRAPHQL_AUTH_DOCS_URL})
    try:
        identity = service.identities.identify(authorization)
    except GitHubFailure as failure:
        identity = None
        message = failure.message
    else:
        message = "Bad credentials"
    if identity is None:
        return _reply(401, {"message": message, "documentation_url": GRAPHQL_DOCS_URL})
    return identity


def serve_graphql(
    service: GraphQLService,
    request: Request,
    *,
    authorization: str,
    timeout: float,
) -> Response:
    """One `POST /graphql`: auth, quota, validation, execution, GitHub's time budget."""
    caller = _caller(service, request, authorization)
    if isinstance(caller, Response):
        return caller
    quota = caller.quota
    try:
        service.faults.raise_injected(request.path)
    except GitHubFailure as failure:
        body: JSONObject = {"message": failure.message, "documentation_url": GRAPHQL_DOCS_URL}
        return _reply(failure.status, body, {**quota.graphql_headers(), **failure.headers})
    if not schema_path().exists():
        # Without GitHub's schema nothing can be validated; a client falls back to REST.
        message = "GraphQL is not available: GitHub's schema is not installed (make graphql-schema)"
        return _reply(503, {"message": message, "documentation_url": GRAPHQL_DOCS_URL})
    budget = quota.graphql_budget()
    # Private repositories the caller may not read are not there, as on GitHub.
    budget.can_read = caller.can_read
    if budget.remaining <= 0:
        limited = {"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}
        return _reply(200, {"errors": [limited]}, quota.graphql_headers())
    started = time.perf_counter()
    answer = service.endpoint.answer(request.get_data(), quota=budget)
    # The fake's own parsing and resolving is part of the modelled server time, not extra.
    spent = time.perf_counter() - started
    if answer.server_time > timeout:
        # GitHub stops a query after its time budget and answers 502 without data.
        service.stopping.wait(timeout)
        body = {"data": None, "errors": [{"message": _TIMEOUT_MESSAGE}]}
        return _reply(502, body, quota.graphql_headers())
    if answer.server_time > spent:
        service.stopping.wait(answer.server_time - spent)
    quota.charge_graphql(answer.cost)
    return _reply(answer.status, answer.body, quota.graphql_headers())
