"""GitHub as a provider: one of two read plans with the same answers, and discovery's browser."""

from typing import cast

from django.conf import settings

from refresher.sources import SourceKind
from refresher.upstream.github.browse import GitHubBrowser
from refresher.upstream.github.client import RateLimit
from refresher.upstream.github.governor import Block
from refresher.upstream.github.graphql import GraphQLAPI, GraphQLReader
from refresher.upstream.github.rest import GitHubAPI, UpstreamReader
from refresher.upstream.provider import ReadContext, Reader

UPSTREAM_PLANS = ("auto", "graphql", "rest")


class GitHubProvider:
    """GitHub sources through one of two read plans with the same answers.

    `graphql` (`graphql.py` beside this module): batched queries, a handful of requests per run;
    it needs a token, and hands REST whatever it could not read. `rest` (`rest.py`): repository,
    ref, tree and blob requests. `auto` (the default) is GraphQL when the client
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
        """Discovery's view of a repository (`refresher.upstream.browse.Browser`)."""
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
