"""Where upstream is read from: one provider per kind of source, behind one interface.

The engine hands each provider the targets whose source kind it serves and gets back one
`UpstreamArtifact` per target; it never learns whether GitHub's REST API, its GraphQL API or a git
command line answered. A provider builds a fresh reader for every run, since a reader carries the
run's cache, deadline and progress callback.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from django.conf import settings

from refresher.github import RateLimit
from refresher.githubbrowse import GitHubBrowser
from refresher.governor import Block
from refresher.graphql_plan import GraphQLAPI, GraphQLReader
from refresher.httpcache import HttpCache
from refresher.sources import SourceKind
from refresher.upstream import GitHubAPI, Target, UpstreamArtifact, UpstreamReader


@dataclass(frozen=True)
class ReadContext:
    """What one run gives every reader: its HTTP cache, parallelism, deadline and progress."""

    cache: HttpCache
    concurrency: int
    deadline: float | None = None  # time.monotonic() value, or None for no deadline
    on_progress: Callable[[int], None] | None = None


class Reader(Protocol):
    def read(self, targets: list[Target]) -> dict[Any, UpstreamArtifact]: ...


class Provider(Protocol):
    """Reads the sources of some kinds; `rate_limit` is its last known quota, if it has one.

    A provider with a quota may also have `unavailable() -> Block | None`: the engine asks it
    before a run and, when it answers a block, ends the run at once without a request.
    """

    kinds: frozenset[SourceKind]

    def reader(self, context: ReadContext) -> Reader: ...

    @property
    def rate_limit(self) -> RateLimit | None: ...


UPSTREAM_PLANS = ("auto", "graphql", "rest")


class GitHubProvider:
    """GitHub sources through one of two read plans with the same answers.

    `graphql` (`refresher.graphql_plan`): batched queries, a handful of requests per run; it
    needs a token, and hands REST whatever it could not read. `rest` (`refresher.upstream`):
    repository, ref, tree and blob requests. `auto` (the default) is GraphQL when the client
    carries a token and REST otherwise. `plan=None` reads `REFRESH_UPSTREAM`.
    """

    kinds = frozenset({SourceKind.GITHUB})

    def __init__(self, client: GitHubAPI, *, plan: str | None = None) -> None:
        if plan is None:
            plan = getattr(settings, "REFRESH_UPSTREAM", "auto")
        if plan not in UPSTREAM_PLANS:
            raise ValueError(f"unknown read plan {plan!r}; expected one of {UPSTREAM_PLANS}")
        self.client = client
        self.plan = plan

    @property
    def uses_graphql(self) -> bool:
        """Whether runs read through GraphQL (GitHub's GraphQL API answers only with a token)."""
        if self.plan == "rest" or not hasattr(self.client, "graphql"):
            return False
        return bool(getattr(self.client, "authenticated", False))

    def reader(self, context: ReadContext) -> Reader:
        def rest() -> Reader:
            return UpstreamReader(
                self.client,
                context.cache,
                concurrency=context.concurrency,
                deadline=context.deadline,
                on_progress=context.on_progress,
            )

        if not self.uses_graphql:
            return rest()
        return GraphQLReader(
            cast(GraphQLAPI, self.client),
            context.cache,
            concurrency=context.concurrency,
            deadline=context.deadline,
            on_progress=context.on_progress,
            rest=rest,
        )

    def browser(self, context: ReadContext) -> GitHubBrowser:
        """Discovery's view of a repository (`refresher.browse.Browser`)."""
        return GitHubBrowser(
            self.client,
            context.cache,
            concurrency=context.concurrency,
            deadline=context.deadline,
        )

    @property
    def rate_limit(self) -> RateLimit | None:
        return self.client.rate_limit

    def unavailable(self) -> Block | None:
        """Whether GitHub may be asked now, by the state every process shares (one query)."""
        self.client.quota.sync()
        return self.client.quota.blocked(("graphql",) if self.uses_graphql else READ_RESOURCES)


# The quotas a GitHub run may spend: REST reads, and GraphQL queries when a plan sends them.
READ_RESOURCES = ("core",)
