"""What "read through GraphQL" means in a test: every query valid and answered 200, no REST read.

The product falls back to REST when GraphQL fails, so a GraphQL test that only checks results
would pass with GraphQL broken. Tests running the GraphQL plan hold its traffic to this unless
they are marked ``allow_rest_fallback`` (they mean to test the fallback).
"""

from __future__ import annotations

import json

from fakegithub import FakeGitHub
from fakegithub.endpoints import GRAPHQL_PATHS, endpoint_kind
from fakegithub.graphql_schema import validate_query

# The REST endpoints that read a repository's content or metadata.
REPOSITORY_READS = frozenset(
    {"repo", "ref", "tag", "tree", "blob", "git-commit", "contents", "commits"}
)


def graphql_breaches(github: FakeGitHub) -> list[str]:
    """What in the fake's traffic says GraphQL was not what read upstream (empty when it was)."""
    breaches = []
    for record in github.requests:
        if record.path in GRAPHQL_PATHS:
            if record.status != 200:
                breaches.append(f"{record.method} {record.path} answered {record.status}")
                continue
            query = _query_of(record.body)
            for error in validate_query(query):
                breaches.append(f"a query GitHub refuses: {error.message}")
        elif endpoint_kind(record.path) in REPOSITORY_READS:
            breaches.append(f"a REST read: {record.method} {record.path} ({record.status})")
    return breaches


def _query_of(body: bytes) -> str:

    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    query = payload.get("query") if isinstance(payload, dict) else None
    return query if isinstance(query, str) else ""
