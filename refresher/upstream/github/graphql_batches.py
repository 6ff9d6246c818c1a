"""The GraphQL plan's batches: a round's asks sent as parallel queries, each failure classified.

A round's asks are cut into as many queries as run in parallel (within a round's bounds), every
ask gets its answer or an exception: a batch that fails as a whole (5xx, timeout, node limit,
complexity) is sent again as two halves and what still fails is handed to REST (`ReadByRest`);
a rate limit or a bad token stops every batch not sent yet.
"""

import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from refresher.exceptions import ReadByRest, ReadFailed, ReadSkipped
from refresher.json_types import JSONObject
from refresher.upstream.access import ReadAs
from refresher.upstream.github.client import GitHubError, GitHubResponse, RateLimit
from refresher.upstream.github.shapes import (
    GraphQLErrorShape,
    RateLimitNode,
    Variables,
    alias,
    graphql_body,
)

logger = logging.getLogger("refresher.graphql")

# How a round builds a batch's query, and reads its answer into one answer or error per ask.
type Build[K] = Callable[[Sequence[K]], tuple[str, Variables]]
type Parse[K, R] = Callable[
    [Sequence[K], JSONObject, list[GraphQLErrorShape]], dict[K, R | Exception]
]


class GraphQLAPI(Protocol):
    """What the GraphQL plan needs of a client (`client.GitHubClient` satisfies it)."""

    def graphql(
        self,
        query: str,
        variables: Variables | None = None,
        *,
        deadline: float | None = None,
    ) -> GitHubResponse: ...

    @property
    def rate_limit(self) -> RateLimit | None: ...


class Batches:
    """Sends one run's GraphQL batches on its pool; remembers what stops the rest."""

    def __init__(
        self,
        client: GraphQLAPI,
        pool: ThreadPoolExecutor,
        *,
        concurrency: int,
        deadline: float | None,
        read_as: ReadAs,
    ) -> None:
        self.client = client
        self.pool = pool
        self.concurrency = concurrency
        self.deadline = deadline
        self.read_as = read_as
        self.stop: ReadSkipped | ReadFailed | None = None
        self.points = 0  # GraphQL points the run's queries cost, as GitHub reported them

    def run[K, R](
        self,
        asks: Sequence[K],
        *,
        build: Build[K],
        parse: Parse[K, R],
        limits: tuple[int, int],
        weight: Callable[[K], int] = lambda ask: 1,
        max_bytes: int = 0,
    ) -> dict[K, R | Exception]:
        """Send `asks` in parallel batches; every ask gets its answer or an exception."""
        if not asks:
            return {}
        quota = getattr(self.client, "quota", None)
        if quota is not None:
            # A pause or an exhausted quota another process met since the last round stops this one.
            quota.sync(if_sent=True)
        low, high = limits
        total = sum(weight(a) for a in asks)
        size = min(high, max(low, math.ceil(total / self.concurrency)))
        batches: list[list[K]] = [[]]
        load = volume = 0
        for ask in asks:
            ask_bytes = int(getattr(ask, "size", 0))
            full = load + weight(ask) > size or (max_bytes and volume + ask_bytes > max_bytes)
            if batches[-1] and full:
                batches.append([])
                load = volume = 0
            batches[-1].append(ask)
            load += weight(ask)
            volume += ask_bytes
        out: dict[K, R | Exception] = {}
        for answer in self.pool.map(lambda b: self._send(b, build, parse, halve=True), batches):
            out.update(answer)
        return out

    def _send[K, R](
        self,
        batch: Sequence[K],
        build: Build[K],
        parse: Parse[K, R],
        *,
        halve: bool,
    ) -> dict[K, R | Exception]:
        if self.stop is not None:
            return dict.fromkeys(batch, self.stop)
        query, variables = build(batch)
        try:
            response = self.client.graphql(query, variables, deadline=self.deadline)
        except GitHubError as exc:
            failure = self._classify(exc)
            if not isinstance(failure, ReadByRest):
                return dict.fromkeys(batch, failure)
            return self._retry_halves(batch, build, parse, halve=halve, why=failure)
        body = graphql_body(response.data)
        data = body.get("data")
        errors = body.get("errors") or []
        if not isinstance(data, dict):
            # The query failed as a whole: node limit, complexity, a timeout inside GitHub.
            kinds = sorted(
                {str(e.get("type") or e.get("message")) for e in errors if isinstance(e, dict)}
            )
            why = ReadByRest(f"GraphQL query failed: {', '.join(kinds) or 'no data'}")
            return self._retry_halves(batch, build, parse, halve=halve, why=why)
        cost = (alias(data, "rateLimit", RateLimitNode) or {}).get("cost")
        if isinstance(cost, int):
            self.points += cost
        return parse(batch, data, errors)

    def _retry_halves[K, R](
        self,
        batch: Sequence[K],
        build: Build[K],
        parse: Parse[K, R],
        *,
        halve: bool,
        why: ReadByRest,
    ) -> dict[K, R | Exception]:
        if not halve or len(batch) < 2:
            logger.warning("GraphQL batch of %d failed (%s); REST reads it", len(batch), why)
            return dict.fromkeys(batch, why)
        middle = len(batch) // 2
        out = self._send(batch[:middle], build, parse, halve=False)
        out.update(self._send(batch[middle:], build, parse, halve=False))
        return out

    def _classify(self, exc: GitHubError) -> Exception:
        if exc.deadline:
            return ReadSkipped("deadline_exceeded", "the refresh ran out of time for this read")
        if exc.code == "rate_limited":
            reset = exc.reset_at.isoformat().replace("+00:00", "Z") if exc.reset_at else None
            self.stop = ReadSkipped(
                "rate_limited",
                f"GitHub's rate limit is exhausted{f' until {reset}' if reset else ''}",
            )
            # As in the REST plan: what met the limit is an error, what was not sent is skipped.
            return ReadFailed("rate_limited", exc.message)
        if exc.status == 401 or exc.code == "upstream_unauthorized":
            # A bad token fails every request alike: stop after the first answer.
            self.stop = ReadFailed("upstream_unauthorized", self.read_as.refused(exc.message))
            return self.stop
        if exc.permanent and exc.code == "upstream_forbidden":
            return ReadFailed(exc.code, exc.message)
        return ReadByRest(exc.message)
