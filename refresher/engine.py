"""The refresh engine: carries out a run, in four steps, for whichever door started it.

A run selects the collection's artifacts (one query), reads upstream through the providers it is
given with no transaction open, decides per artifact what to write (pure Python), and records
everything in one short transaction. Each step hands the next frozen records: `Target`s, then
`UpstreamRead`s, then `Decision`s; the run ends as a `RunResult`.

The engine knows providers only through `refresher.upstream.provider.Provider`: production builds
them from settings (`refresher.factory`), tests point them at loopback servers. It knows neither
the task queue nor what starts after a run: the doors (`refresher.service`) see to that.
"""

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from django.conf import settings
from django.db.models import QuerySet

from collections_app.models import Artifact, Collection
from refresher.apply import apply_decisions
from refresher.changes import FIELDS
from refresher.credentials.access import access_for, mark_used
from refresher.evaluate import Decision, errored, evaluate, skipped
from refresher.exceptions import InvalidSource, UpstreamUnavailable
from refresher.models import Mode, RefreshRun, Trigger
from refresher.options import ArtifactFilter, RefreshOptions
from refresher.runs import Requester, fail_run, heartbeat, start_run
from refresher.sources import SHA_RE, SourceKind, parse_source
from refresher.updates.record import record_review
from refresher.updates.step import Reviewed, review
from refresher.upstream.access import Access
from refresher.upstream.httpcache import HttpCache
from refresher.upstream.inspect import History, HistoryAsk, Inspect, Inspection
from refresher.upstream.provider import (
    Provider,
    RateLimitSnapshot,
    ReadContext,
    Unavailable,
)
from refresher.upstream.reads import Target, UpstreamRead
from skillmeat_site.logs import log_context

logger = logging.getLogger("refresher.engine")

Progress = Callable[[int, int], None]  # (artifacts done, total)
# Entry codes that mean upstream could not be asked at all (down, out of quota, token refused):
# a run where every entry failed for one of them answers 503.
UNREACHABLE = frozenset({"upstream_unavailable", "rate_limited", "upstream_unauthorized"})
# Seconds between heartbeats: a background run's page shows its progress, so it reports often;
# an inline run only has to prove it is alive, well within the lease.
PROGRESS_EVERY = 2.0


def _filtered(collection_id: uuid.UUID, artifact_filter: ArtifactFilter) -> QuerySet[Artifact]:
    qs: QuerySet[Artifact] = Artifact.objects.filter(collection_id=collection_id)
    if artifact_filter.type:
        qs = qs.filter(type=artifact_filter.type)
    if artifact_filter.ids:
        qs = qs.filter(pk__in=artifact_filter.ids)
    return qs


# What a run reads of an artifact. The rest (the manifest's columns and tags, several of them
# JSON to decode per row) is left unread, which takes about a third off reading 1,000 artifacts.
RUN_COLUMNS = ("id", "type", "name", "source", "resolved_sha", "content_sha", "locked_fields",
               "updated_at", *FIELDS)  # fmt: skip


def select_artifacts(
    collection_id: uuid.UUID, artifact_filter: ArtifactFilter, *, with_content: bool = True
) -> list[Artifact]:
    """The collection's artifacts that the filter admits, in a stable order (one query)."""
    # Only sync reads or writes the content, which can be large.
    columns = (*RUN_COLUMNS, "content") if with_content else RUN_COLUMNS
    qs = _filtered(collection_id, artifact_filter).order_by("type", "name").only(*columns)
    return [a for a in qs if artifact_filter.matches_name(a.name)]


def count_artifacts(collection_id: uuid.UUID, artifact_filter: ArtifactFilter) -> int:
    """How many artifacts the filter admits, reading only their names (one query)."""
    names = _filtered(collection_id, artifact_filter).values_list("name", flat=True)
    return sum(1 for name in names if artifact_filter.matches_name(name))


def options_of(run: RefreshRun) -> RefreshOptions:
    return RefreshOptions(
        mode=run.mode,
        dry_run=run.dry_run,
        fields=tuple(run.fields),
        artifact_filter=ArtifactFilter.from_dict(run.artifact_filter),
        background=run.background,
        review_commits=tuple(
            (uuid.UUID(artifact_id), commit) for artifact_id, commit in run.review_commits.items()
        ),
        accept_findings=run.accept_findings,
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """The run's artifacts, in order: those to read upstream, and those decided without a read
    (an invalid source, or none that can be read)."""

    artifacts: Sequence[Artifact]
    targets: Sequence[Target]
    settled: Mapping[uuid.UUID, Decision]


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended: its record, and whether upstream could be asked at all."""

    run: RefreshRun
    unreachable: bool = False  # every read failed because upstream was down or refused us
    unavailable: Unavailable | None = None  # why the run sent nothing at all, if it did not


class _Heartbeat:
    """Counts artifacts done, tells the caller's progress callback, beats the run's heartbeat."""

    def __init__(
        self, run: RefreshRun, *, done: int, total: int, progress: Progress | None
    ) -> None:
        self.run, self.done, self.total, self.progress = run, done, total, progress
        # A background run's page shows its progress; an inline one only proves it is alive.
        self.every = PROGRESS_EVERY if run.background else settings.REFRESH_RUN_LEASE_SECONDS / 4
        heartbeat(run, total=total, processed=done)
        self.last = time.monotonic()

    def __call__(self, count: int) -> None:
        self.done += count
        if self.progress:
            self.progress(self.done, self.total)
        if time.monotonic() - self.last > self.every:
            heartbeat(self.run, processed=self.done)
            self.last = time.monotonic()


class Refresher:
    """Carries out refresh runs, reading upstream through the providers it is given.

    It owns them: `close()` (or leaving a `with` block) closes every provider.
    """

    def __init__(self, *, providers: Sequence[Provider], concurrency: int = 8) -> None:
        self.providers = list(providers)
        self.concurrency = concurrency
        self._by_kind = {kind: p for p in self.providers for kind in p.kinds}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for provider in self.providers:
            provider.close()

    def provider_for(self, kind: SourceKind) -> Provider | None:
        """The provider serving this kind of source (discovery browses through it)."""
        return self._by_kind.get(kind)

    def refresh(
        self,
        collection: Collection,
        options: RefreshOptions,
        *,
        user: Requester = None,
        request_id: str = "",
        idempotency_key: str = "",
        deadline_seconds: float | None = None,
        progress: Progress | None = None,
        trigger: str = Trigger.API,
    ) -> RefreshRun:
        """Start a run and carry it out now; its finished record (see `answer`).

        Raises RefreshInProgress when the collection is busy. What follows a run (pending pushes,
        notifications) is the caller's: the doors go through `refresher.service.launch`.
        """
        run = start_run(
            collection=collection,
            options=options,
            user=user,
            request_id=request_id,
            idempotency_key=idempotency_key,
            queued=False,
            trigger=trigger,
        )
        return self.answer(self.execute(run, deadline_seconds=deadline_seconds, progress=progress))

    def execute(
        self,
        run: RefreshRun,
        *,
        deadline_seconds: float | None = None,
        progress: Progress | None = None,
    ) -> RunResult:
        """Carry out a running run: select, read, decide, record.

        A run that may not ask upstream at all (paused or out of quota) is failed at once with
        code `upstream_unavailable`. On an unexpected error the run is failed (it applied
        nothing: recording is its last, all-or-nothing step) and the error raised again.
        """
        with log_context(run_id=str(run.pk)):
            try:
                return self._execute(run, deadline_seconds=deadline_seconds, progress=progress)
            except Exception:
                # The run must not keep the collection busy until its lease runs out.
                logger.exception("refresh run %s stopped on an unexpected error", run.pk)
                fail_run(
                    run, code="internal_error", message="The run stopped on an unexpected error."
                )
                raise

    def answer(self, result: RunResult) -> RefreshRun:
        """The finished run, or UpstreamUnavailable when upstream could not be asked at all.

        The exception names the failed run and, when a provider knows, when to try again.
        """
        details = {"run_id": str(result.run.pk)}
        if result.unavailable is not None:
            raise UpstreamUnavailable(
                f"{result.unavailable.message}; nothing was sent and nothing was changed.",
                details=details,
                retry_after=result.unavailable.retry_after(),
            )
        if result.unreachable:
            raise UpstreamUnavailable(
                "GitHub could not be read for any artifact; nothing was changed.",
                details=details,
                retry_after=self._retry_after(),
            )
        return result.run

    # -- the steps of a run ----------------------------------------------------------------------

    def _execute(
        self, run: RefreshRun, *, deadline_seconds: float | None, progress: Progress | None
    ) -> RunResult:
        started = time.monotonic()
        options = options_of(run)
        selection = self._select(run, options)
        access = access_for(run.collection) if selection.targets else Access()
        unavailable = self._unavailable(selection.targets, access)
        if unavailable is not None:
            return self._refuse(run, unavailable)
        beat = _Heartbeat(
            run,
            done=len(selection.artifacts) - len(selection.targets),
            total=len(selection.artifacts),
            progress=progress,
        )
        deadline = started + deadline_seconds if deadline_seconds else None
        reads = self._read_all(
            selection.targets, deadline=deadline, on_progress=beat, access=access
        )
        decisions = self._decide(selection, reads, options)
        # Nothing could be read, and only because upstream was down or out of quota.
        unreachable = bool(reads) and all(
            d.error_code in UNREACHABLE or d.reason in UNREACHABLE
            for d in decisions
            if d.artifact_id in reads
        )
        reviewed = self._review(
            run, options, selection, reads, decisions, deadline=deadline, access=access
        )
        return RunResult(self._record(run, reviewed, options), unreachable=unreachable)

    def _select(self, run: RefreshRun, options: RefreshOptions) -> Selection:
        """The run's artifacts; each becomes a target of its provider, or is decided at once."""
        artifacts = select_artifacts(
            run.collection_id, options.artifact_filter, with_content=options.mode == Mode.SYNC
        )
        targets: list[Target] = []
        settled: dict[uuid.UUID, Decision] = {}
        for artifact in artifacts:
            try:
                source = parse_source(artifact.source)
            except InvalidSource as exc:
                settled[artifact.id] = errored(artifact, "invalid_source", f"invalid source: {exc}")
                continue
            if source.kind in self._by_kind:
                # An approval reads the artifact at the commit that was reviewed (SPEC 17).
                at = options.reviewed_commit(artifact.id)
                at = at if SHA_RE.match(at) else ""
                targets.append(Target(artifact.id, artifact.type, source, at_commit=at))
            else:
                unsupported = source.kind is SourceKind.UNSUPPORTED
                reason = "unsupported_source" if unsupported else "no_upstream"
                settled[artifact.id] = skipped(artifact, reason, current_sha=artifact.resolved_sha)
        return Selection(artifacts=artifacts, targets=targets, settled=settled)

    def _unavailable(self, targets: Sequence[Target], access: Access) -> Unavailable | None:
        """Why the run must not send anything at all (a shared pause or spent quota), or None."""
        for provider in self.providers:
            if any(self._by_kind[t.source.kind] is provider for t in targets):
                unavailable = provider.unavailable(access)
                if unavailable is not None:
                    return unavailable
        return None

    def _refuse(self, run: RefreshRun, unavailable: Unavailable) -> RunResult:
        # Another run or process met a secondary limit or spent the quota: asking now would
        # only prolong the penalty, so the run sends nothing and ends here.
        logger.warning("refresh run %s not started: %s", run.pk, unavailable.message)
        fail_run(
            run,
            code="upstream_unavailable",
            message=f"{unavailable.message}; nothing was sent and nothing was changed.",
        )
        return RunResult(run, unreachable=True, unavailable=unavailable)

    def _read_all(
        self,
        targets: Sequence[Target],
        *,
        deadline: float | None,
        on_progress: Callable[[int], None],
        access: Access,
    ) -> dict[uuid.UUID, UpstreamRead]:
        """Read every target, no transaction open; the run's HTTP cache is saved once after,
        and the credentials read with are marked used."""
        cache = HttpCache()
        context = ReadContext(
            cache=cache,
            concurrency=self.concurrency,
            deadline=deadline,
            on_progress=on_progress,
            access=access,
        )
        reads = self._read(list(targets), context)
        cache.flush()
        mark_used({c for p in self.providers for c in p.used_credentials})
        return reads

    def _read(self, targets: list[Target], context: ReadContext) -> dict[uuid.UUID, UpstreamRead]:
        """Hand each provider the targets of its kinds; one answer per target."""
        reads: dict[uuid.UUID, UpstreamRead] = {}
        for provider in self.providers:
            mine = [t for t in targets if self._by_kind[t.source.kind] is provider]
            if mine:
                reads.update(provider.read(mine, context))
        return reads

    @staticmethod
    def _decide(
        selection: Selection, reads: Mapping[uuid.UUID, UpstreamRead], options: RefreshOptions
    ) -> list[Decision]:
        """One decision per artifact, in the order they were selected."""
        return [
            selection.settled.get(artifact.id)
            or evaluate(artifact=artifact, upstream=reads[artifact.id], options=options)
            for artifact in selection.artifacts
        ]

    def _review(
        self,
        run: RefreshRun,
        options: RefreshOptions,
        selection: Selection,
        reads: Mapping[uuid.UUID, UpstreamRead],
        decisions: list[Decision],
        *,
        deadline: float | None,
        access: Access,
    ) -> Reviewed:
        """Judge the new content the run found before anything is written (SPEC 17), asking
        upstream as the run read it (the same credential for each repository)."""
        inspector = _Inspector(self, concurrency=self.concurrency, deadline=deadline, access=access)
        try:
            return review(
                run=run,
                collection=run.collection,
                options=options,
                artifacts=selection.artifacts,
                targets={t.id: t for t in selection.targets},
                reads=reads,
                decisions=decisions,
                inspector=inspector,
            )
        finally:
            inspector.flush()

    def _record(self, run: RefreshRun, reviewed: Reviewed, options: RefreshOptions) -> RefreshRun:
        """Apply the decisions, write the entries, the run's counts and what waits for review;
        log the run's line."""
        rate_limit = self._rate_limit()
        apply_decisions(
            run,
            reviewed.decisions,
            writes=options.writes,
            rate_limit=rate_limit.as_json() if rate_limit else None,
            # A dry run writes nothing but its record; the review table is not its record.
            then=None if options.dry_run else lambda final: record_review(run, reviewed, final),
        )
        run.refresh_from_db()
        _log_finished(run)
        return run

    # -- what the providers know of their quotas -------------------------------------------------

    def _rate_limit(self) -> RateLimitSnapshot | None:
        """The run record's rate limit: the first provider's that has one."""
        for provider in self.providers:
            snapshot = provider.rate_limit
            if snapshot is not None:
                return snapshot
        return None

    def _retry_after(self) -> int | None:
        """Seconds until upstream may be asked again, when a provider met a pause or a limit."""
        return next((s for p in self.providers if (s := p.retry_after()) is not None), None)


class _Inspector:
    """The review step's questions, handed to the provider of each source's kind, with one HTTP
    cache for the step (made on the first question, saved once at its end)."""

    def __init__(
        self,
        refresher: "Refresher",
        *,
        concurrency: int,
        deadline: float | None,
        access: Access,
    ):
        self.refresher = refresher
        self.concurrency = concurrency
        self.deadline = deadline
        self.access = access
        self._cache: HttpCache | None = None

    def _context(self) -> ReadContext:
        if self._cache is None:
            self._cache = HttpCache()
        return ReadContext(
            cache=self._cache,
            concurrency=self.concurrency,
            deadline=self.deadline,
            access=self.access,
        )

    def _routed[A: (Inspect, HistoryAsk)](self, asks: Sequence[A]) -> dict[Provider, list[A]]:
        by_provider: dict[Provider, list[A]] = {}
        for ask in asks:
            provider = self.refresher.provider_for(ask.source.kind)
            if provider is not None:
                by_provider.setdefault(provider, []).append(ask)
        return by_provider

    def inspect(self, asks: Sequence[Inspect]) -> dict[uuid.UUID, Inspection]:
        out: dict[uuid.UUID, Inspection] = {}
        for provider, mine in self._routed(asks).items():
            out.update(provider.inspect(mine, self._context()))
        return out

    def history(self, asks: Sequence[HistoryAsk]) -> dict[uuid.UUID, History]:
        out: dict[uuid.UUID, History] = {}
        for provider, mine in self._routed(asks).items():
            out.update(provider.history(mine, self._context()))
        return out

    def flush(self) -> None:
        if self._cache is not None:
            self._cache.flush()


def _log_finished(run: RefreshRun) -> None:
    logger.info(
        "refresh collection=%s run=%s request=%s mode=%s dry_run=%s status=%s total=%d "
        "refreshed=%d unchanged=%d skipped=%d error=%d updates=%d duration_ms=%s",
        run.collection_id,
        run.pk,
        run.request_id or "-",
        run.mode,
        run.dry_run,
        run.status,
        run.total,
        run.refreshed,
        run.unchanged,
        run.skipped,
        run.error,
        run.updates_available,
        run.duration_ms,
    )
