"""GitHub as a provider: one of two read plans with the same answers, and discovery's browser."""

import uuid
from collections.abc import Iterable, Sequence
from typing import cast

from refresher.exceptions import ReadFailed, ReadSkipped
from refresher.sources import Source, SourceKind
from refresher.upstream.access import Access, ReadAs
from refresher.upstream.browse import Snapshot
from refresher.upstream.github.accounts import Account, Accounts, Connector
from refresher.upstream.github.browse import GitHubBrowser
from refresher.upstream.github.graphql import GraphQLReader, Reader
from refresher.upstream.github.graphql_batches import GraphQLAPI
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
    and REST otherwise.

    Each repository is read as the account SPEC 16 picks from the run's `Access`
    (`accounts.py`): `client` reads as the site's own token, and `connector` (the factory's)
    builds the clients of the collection's credentials. The provider owns every client it
    reads with: closing it closes them.
    """

    kinds = frozenset({SourceKind.GITHUB})

    def __init__(
        self, client: GitHubAPI, *, plan: str = "auto", connector: Connector | None = None
    ) -> None:
        if plan not in UPSTREAM_PLANS:
            raise ValueError(f"unknown read plan {plan!r}; expected one of {UPSTREAM_PLANS}")
        self.client = client
        self.plan = plan
        self.connector = connector
        self._accounts: list[Accounts] = []
        self._rate_limit: RateLimitSnapshot | None = None
        self._read_most = 0
        self.used_credentials: set[uuid.UUID] = set()

    def uses_graphql(self, client: GitHubAPI | None = None) -> bool:
        """Whether runs read through GraphQL (GitHub's GraphQL API answers only with a token)."""
        client = client or self.client
        if self.plan == "rest" or not hasattr(client, "graphql"):
            return False
        return bool(getattr(client, "authenticated", False))

    def read(
        self, targets: Sequence[Target], context: ReadContext
    ) -> dict[uuid.UUID, UpstreamRead]:
        accounts = self._open(context.access)
        reads: dict[uuid.UUID, UpstreamRead] = {}
        for account, mine in accounts.route(targets).items():
            reads.update(self._read_as(accounts, account, mine, context))
        self.used_credentials |= accounts.used
        return reads

    def _read_as(
        self, accounts: Accounts, account: Account, targets: list[Target], context: ReadContext
    ) -> dict[uuid.UUID, UpstreamRead]:
        """The targets of one account, read as it (or failed, when it cannot read at all)."""
        if account.refused:
            return _all_failed(
                targets,
                ReadFailed("upstream_unauthorized", account.read_as.refused(account.refused)),
                context,
            )
        client = accounts.client(account)
        if client is not self.client:
            # A credential's quota is read here (the site's was read before the run), so that
            # one spent account stops only its own repositories.
            client.quota.sync()
        block = client.quota.blocked(self._resources(client))
        if block is not None:
            skip = ReadSkipped("rate_limited", f"{account.read_as.label}: {block.describe()}")
            return _all_failed(targets, skip, context)
        reads = self._reader(context, client, account.read_as).read(list(targets))
        rate = client.rate_limit
        if rate is not None and len(targets) >= self._read_most:
            # The run's record shows the quota of the account that read the most.
            self._read_most = len(targets)
            self._rate_limit = RateLimitSnapshot(
                rate.limit, rate.remaining, rate.reset_at, rate.resource
            )
        return reads

    def _reader(self, context: ReadContext, client: GitHubAPI, read_as: ReadAs) -> Reader:
        def rest() -> Reader:
            return UpstreamReader(
                client,
                context.cache,
                concurrency=context.concurrency,
                deadline=context.deadline,
                on_progress=context.on_progress,
                read_as=read_as,
            )

        if not self.uses_graphql(client):
            return rest()
        return GraphQLReader(
            cast(GraphQLAPI, client),
            context.cache,
            concurrency=context.concurrency,
            deadline=context.deadline,
            on_progress=context.on_progress,
            rest=rest,
            read_as=read_as,
        )

    def inspect(self, asks: Sequence[Inspect], context: ReadContext) -> dict[uuid.UUID, Inspection]:
        """The review's questions, asked as the account that read each repository."""
        out: dict[uuid.UUID, Inspection] = {}
        for review, mine in self._reviews(asks, context):
            out.update(review.inspect(mine))
        return out

    def history(self, asks: Sequence[HistoryAsk], context: ReadContext) -> dict[uuid.UUID, History]:
        out: dict[uuid.UUID, History] = {}
        for review, mine in self._reviews(asks, context):
            out.update(review.history(mine))
        return out

    def _reviews[A: (Inspect, HistoryAsk)](
        self, asks: Sequence[A], context: ReadContext
    ) -> list[tuple[RestReview | GraphQLReview, list[A]]]:
        """Each account's review of its repositories' asks; a refused account's go unanswered
        (the review then knows nothing more of them)."""
        accounts = self._open(context.access)
        targets = [Target(ask.id, "skill", ask.source) for ask in asks]
        routed = []
        for account, mine in accounts.route(targets).items():
            if account.refused:
                continue
            wanted = {t.id for t in mine}
            client = accounts.client(account)
            review = self._review(context, client, account.read_as)
            routed.append((review, [a for a in asks if a.id in wanted]))
        return routed

    def _review(
        self, context: ReadContext, client: GitHubAPI, read_as: ReadAs
    ) -> RestReview | GraphQLReview:
        """Through the API the runs read with: GraphQL where it is used, REST otherwise."""
        if self.uses_graphql(client):
            return GraphQLReview(
                cast(GraphQLClient, client),
                context.cache,
                concurrency=context.concurrency,
                deadline=context.deadline,
            )
        reader = UpstreamReader(
            client,
            context.cache,
            concurrency=context.concurrency,
            deadline=context.deadline,
            read_as=read_as,
        )
        return RestReview(reader)

    def browser(self, context: ReadContext) -> "RoutedBrowser":
        """Discovery's view of a repository (`refresher.upstream.browse.Browser`), read as the
        account the run's access picks for it."""
        return RoutedBrowser(self, self._open(context.access), context)

    def _open(self, access: Access) -> Accounts:
        accounts = Accounts(access, self.client, self.connector)
        self._accounts.append(accounts)
        return accounts

    @property
    def rate_limit(self) -> RateLimitSnapshot | None:
        if self._rate_limit is not None:
            return self._rate_limit
        rate = self.client.rate_limit
        if rate is None:
            return None
        return RateLimitSnapshot(rate.limit, rate.remaining, rate.reset_at, rate.resource)

    def unavailable(self, access: Access) -> Unavailable | None:
        """Whether GitHub may be asked now, by the state every process shares (one query).

        A run with GitHub credentials of its own is not stopped by the site token's quota:
        each account it reads as is checked before its own reads.
        """
        self.client.quota.sync()
        if access.tokens or access.apps:
            return None  # the site's quota then stops only the repositories it would read
        block = self.client.quota.blocked(self._resources(self.client))
        return None if block is None else Unavailable(block.describe(), block.until)

    def _resources(self, client: GitHubAPI) -> tuple[str, ...]:
        return ("graphql",) if self.uses_graphql(client) else READ_RESOURCES

    def retry_after(self) -> int | None:
        """Seconds until GitHub may be asked again, when the run met a pause or spent the quota."""
        quota = self.client.quota
        block = quota.blocked(quota.state.resources.keys())
        if block is not None:
            return Unavailable(block.describe(), block.until).retry_after()
        rate = self.rate_limit
        return None if rate is None else rate.retry_after()

    def close(self) -> None:
        for accounts in self._accounts:
            accounts.close()
        self._accounts.clear()
        self.client.close()


class RoutedBrowser:
    """Discovery's browser: the repository read as the account SPEC 16 picks for it."""

    def __init__(self, provider: GitHubProvider, accounts: Accounts, context: ReadContext) -> None:
        self.provider = provider
        self.accounts = accounts
        self.context = context
        self._browsers: dict[str, GitHubBrowser] = {}

    def snapshot(self, source: Source) -> Snapshot:
        target = Target(uuid.UUID(int=0), "skill", source.at(""))
        [(account, _)] = self.accounts.route([target]).items()
        if account.refused:
            raise ReadFailed("upstream_unauthorized", account.read_as.refused(account.refused))
        browser = GitHubBrowser(
            self.accounts.client(account),
            self.context.cache,
            concurrency=self.context.concurrency,
            deadline=self.context.deadline,
            read_as=account.read_as,
        )
        snapshot = browser.snapshot(source)
        self._browsers[snapshot.handle] = browser
        self.provider.used_credentials |= self.accounts.used
        return snapshot

    def read_blobs(self, snapshot: Snapshot, shas: Iterable[str]) -> dict[str, bytes | ReadFailed]:
        """The blobs, read by the browser that proved its access with the snapshot."""
        return self._browsers[snapshot.handle].read_blobs(snapshot, shas)


def _all_failed(
    targets: list[Target], failure: ReadFailed | ReadSkipped, context: ReadContext
) -> dict[uuid.UUID, UpstreamRead]:
    if context.on_progress is not None:
        context.on_progress(len(targets))
    if isinstance(failure, ReadSkipped):
        return {t.id: UpstreamRead(skipped=failure) for t in targets}
    return {t.id: UpstreamRead(error=failure) for t in targets}


# The quotas a GitHub run may spend: REST reads, and GraphQL queries when a plan sends them.
READ_RESOURCES = ("core",)
