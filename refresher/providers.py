"""Where upstream is read from: one provider per kind of source, behind one interface.

The engine hands each provider the targets whose source kind it serves and gets back one
`UpstreamArtifact` per target; it never learns whether GitHub's REST API, its GraphQL API or a git
command line answered. A provider builds a fresh reader for every run, since a reader carries the
run's cache, deadline and progress callback.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from refresher.github import RateLimit
from refresher.githubbrowse import GitHubBrowser
from refresher.governor import Block
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


class GitHubProvider:
    """GitHub sources through the REST read plan of `refresher.upstream`."""

    kinds = frozenset({SourceKind.GITHUB})

    def __init__(self, client: GitHubAPI) -> None:
        self.client = client

    def reader(self, context: ReadContext) -> Reader:
        return UpstreamReader(
            self.client,
            context.cache,
            concurrency=context.concurrency,
            deadline=context.deadline,
            on_progress=context.on_progress,
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
        return self.client.quota.blocked(READ_RESOURCES)


# The quotas a GitHub run may spend: REST reads, and GraphQL queries when a plan sends them.
READ_RESOURCES = ("core",)
