"""What GitHub's REST documentation says about its paths, written down for the fake on its own.

The fake shares no code with the client it is tested against: a client bug in naming an endpoint
or its rate-limit resource must not be mirrored here. The facts come from GitHub's REST reference
(https://docs.github.com/en/rest): repositories are addressed as ``/repos/{owner}/{repo}`` or,
after a rename, ``/repositories/{id}``; ``GET /rate_limit`` does not count against any limit;
search endpoints have a ``search`` resource of their own, GraphQL a ``graphql`` one, and every
other REST endpoint counts against ``core``.
"""

from __future__ import annotations

import re

# The REST API version the fake answers as (the ``X-GitHub-Api-Version`` GitHub documents).
API_VERSION = "2022-11-28"
# GitHub's GraphQL endpoint, and GitHub Enterprise's (`/api/graphql` beside `/api/v3`).
GRAPHQL_PATHS = frozenset({"/graphql", "/api/graphql"})
RATE_LIMIT_PATH = "/rate_limit"
# Git's smart HTTP on the web host (https://github.com/{owner}/{repo}.git), the `.git` optional as
# GitHub has it: the ref advertisement and the two services. Git traffic counts against no API
# rate limit.
GIT_HTTP_PATH = re.compile(
    r"/(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+?)(?:\.git)?"
    r"/(?P<endpoint>info/refs|git-upload-pack|git-receive-pack)"
)

_REPOSITORY = re.compile(r"/(?:repos/[^/]+/[^/]+|repositories/\d+)(?P<tail>/.*)?")
# The repository sub-paths the fake serves, by the name of GitHub's reference page for each.
_KINDS = (
    (re.compile(r"/git/refs?(?:/.*)?"), "ref"),
    (re.compile(r"/git/tags(?:/.*)?"), "tag"),
    (re.compile(r"/git/trees(?:/.*)?"), "tree"),
    (re.compile(r"/git/blobs(?:/.*)?"), "blob"),
    (re.compile(r"/git/commits(?:/.*)?"), "git-commit"),
    (re.compile(r"/contents(?:/.*)?"), "contents"),
    (re.compile(r"/commits(?:/.*)?"), "commits"),
)


def endpoint_kind(path: str) -> str:
    """The kind of repository endpoint ``path`` addresses, as the tests count requests.

    One of ``repo``, ``ref``, ``tag``, ``tree``, ``blob``, ``git-commit``, ``contents``,
    ``commits``, ``graphql``, ``git`` (git's smart HTTP) or ``other``.
    """
    path = path.split("?", 1)[0]
    if path in GRAPHQL_PATHS:
        return "graphql"
    if GIT_HTTP_PATH.fullmatch(path):
        return "git"
    match = _REPOSITORY.fullmatch(path)
    if match is None:
        return "other"
    tail = match["tail"] or ""
    if tail in ("", "/"):
        return "repo"
    return next((kind for pattern, kind in _KINDS if pattern.fullmatch(tail)), "other")


def rate_limit_resource(path: str) -> str | None:
    """The rate-limit resource a request to ``path`` counts against; None for ``/rate_limit``
    and git's smart HTTP."""
    path = path.split("?", 1)[0]
    if path == RATE_LIMIT_PATH or GIT_HTTP_PATH.fullmatch(path):
        return None
    if path in GRAPHQL_PATHS:
        return "graphql"
    if path == "/search" or path.startswith("/search/"):
        return "search"
    return "core"
