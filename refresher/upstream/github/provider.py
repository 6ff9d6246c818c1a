"""GitHub as a provider: one of two read plans with the same answers, and discovery's browser."""

import uuid
from collections.abc import Sequence
from typing import cast

from refresher.sources import SourceKind
from refresher.upstream.github.browse import GitHubBrowser
from refresher.upstream.github.graphql import GraphQLAPI, GraphQLReader, Reader
from refresher.upstream.github.rest import GitHubAPI, UpstreamReader
from refresher.upstream.github.review import RestReview
from refresher.upstream.github.review_graphql import GraphQLClient, GraphQLReview
from refresher.upstream.inspect import History, HistoryAsk, Inspect, Inspection
from refresher.upstream.provider import RateLimitSnapshot, ReadContext, Unavailable
from refresher.upstream.reads import Target, UpstreamRead

UPSTREAM_PLANS = ("auto", "graphql", "rest")


class GitHubProvider:
    """GitHub sources through one of two read plans with the same answers.

    `graphql` (`graphql.py` beside this module): batched queries, a handful of requests per run;
    it needs a token, and hands REST whatever it could not read. `rest` (`rest.py`): repository,
    ref, tree and blob requests. `auto` (the default) is GraphQL when the client carries a token
    and REST otherwise. The provider owns its client: closing the provider closes it.
    """

    kinds = frozenset({SourceKind.GITHUB})

    def __init__(self, client: GitHubAPI, *, plan: str = "auto") -> None:
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

    def read(
        self, targets: Sequence[Target], context: ReadContext
    ) -> dict[uuid.UUID, UpstreamRead]:
        return self._reader(context).read(list(targets))

    def _reader(self, context: ReadContext) -> Reader:
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

    def inspect(self, asks: Sequence[Inspect], context: ReadContext) -> dict[uuid.UUID, Inspection]:
        return self._review(context).inspect(list(asks))

    def history(self, asks: Sequence[HistoryAsk], context: ReadContext) -> dict[uuid.UUID, History]:
        return self._review(context).history(list(asks))

    def _review(self, context: ReadContext) -> RestReview | GraphQLReview:
        """Through the API the runs read with: GraphQL where it is used, REST otherwise."""
        if self.uses_graphql:
            return GraphQLReview(
                cast(GraphQLClient, self.client),
                context.cache,
                concurrency=context.concurrency,
                deadline=context.deadline,
            )
        reader = UpstreamReader(
            self.client, context.cache, concurrency=context.concurrency, deadline=context.deadline
        )
        return RestReview(reader)

    def browser(self, context: ReadContext) -> GitHubBrowser:
        """Discovery's view of a repository (`refresher.upstream.browse.Browser`)."""
        return GitHubBrowser(
            self.client,
            context.cache,
            concurrency=context.concurrency,
            deadline=context.deadline,
        )

    @property
    def rate_limit(self) -> RateLimitSnapshot | None:
        rate = self.client.rate_limit
        if rate is None:
            return None
        return RateLimitSnapshot(rate.limit, rate.remaining, rate.reset_at, rate.resource)

    def unavailable(self) -> Unavailable | None:
        """Whether GitHub may be asked now, by the state every process shares (one query)."""
        self.client.quota.sync()
        block = self.client.quota.blocked(("graphql",) if self.uses_graphql else READ_RESOURCES)
        return None if block is None else Unavailable(block.describe(), block.until)

    def retry_after(self) -> int | None:
        """Seconds until GitHub may be asked again, when the run met a pause or spent the quota."""
        quota = self.client.quota
        block = quota.blocked(quota.state.resources.keys())
        if block is not None:
            return Unavailable(block.describe(), block.until).retry_after()
        rate = self.rate_limit
        return None if rate is None else rate.retry_after()

    def close(self) -> None:
        self.client.close()


# The quotas a GitHub run may spend: REST reads, and GraphQL queries when a plan sends them.
READ_RESOURCES = ("core",)
