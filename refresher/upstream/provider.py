"""Where upstream is read from: one provider per kind of source, behind one interface.

The engine hands each provider the targets whose source kind it serves and gets back one
`UpstreamArtifact` per target; it never learns whether GitHub's REST API, its GraphQL API or a git
command line answered. A provider builds a fresh reader for every run, since a reader carries the
run's cache, deadline and progress callback.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from refresher.sources import SourceKind
from refresher.upstream.github.client import RateLimit
from refresher.upstream.httpcache import HttpCache
from refresher.upstream.reads import Target, UpstreamArtifact


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
