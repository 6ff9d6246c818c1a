"""The refresh engine: one class that every door (API, admin, command, task) calls.

A refresh has three phases. It reads the collection's artifacts (one query), reads upstream with
no transaction open (`refresher.upstream`), then writes every result in one short transaction
(`refresher.apply`). The GitHub client is injected: production builds it from settings
(`refresher.factory`), tests point it at a loopback server.
"""

import logging
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from collections_app.models import Artifact, Collection
from refresher.apply import Result, apply_results
from refresher.evaluate import errored, evaluate, skipped
from refresher.exceptions import InvalidSource, UpstreamUnavailable
from refresher.models import Mode, RefreshRun, Trigger
from refresher.options import ArtifactFilter, RefreshOptions
from refresher.runs import Requester, fail_run, heartbeat, start_run
from refresher.sources import SourceKind, parse_source
from refresher.triggers.pending import start_pending_push
from refresher.upstream.github.governor import Block
from refresher.upstream.github.provider import GitHubProvider
from refresher.upstream.github.rest import GitHubAPI
from refresher.upstream.httpcache import HttpCache
from refresher.upstream.provider import Provider, ReadContext
from refresher.upstream.reads import Target, UpstreamArtifact
from skillmeat_site.logs import log_context

logger = logging.getLogger("refresher.engine")

Progress = Callable[[int, int], None]  # (artifacts done, total)
# Entry codes that mean upstream could not be asked at all (down, out of quota, token refused):
# a run where every entry failed for one of them answers 503.
UNREACHABLE = frozenset({"upstream_unavailable", "rate_limited", "upstream_unauthorized"})
# Seconds between heartbeats: a background run's page shows its progress, so it reports often;
# an inline run only has to prove it is alive, well within the lease.
PROGRESS_EVERY = 2.0


def _filtered(collection_id: Any, artifact_filter: ArtifactFilter) -> QuerySet[Artifact]:
    qs: QuerySet[Artifact] = Artifact.objects.filter(collection_id=collection_id)
    if artifact_filter.type:
        qs = qs.filter(type=artifact_filter.type)
    if artifact_filter.ids:
        qs = qs.filter(pk__in=artifact_filter.ids)
    return qs


def select_artifacts(
    collection_id: Any, artifact_filter: ArtifactFilter, *, with_content: bool = True
) -> list[Artifact]:
    """The collection's artifacts that the filter admits, in a stable order (one query)."""
    qs = _filtered(collection_id, artifact_filter).order_by("type", "name")
    if not with_content:
        qs = qs.defer("content")  # only sync reads or writes it; it can be large
    return [a for a in qs if artifact_filter.matches_name(a.name)]


def count_artifacts(collection_id: Any, artifact_filter: ArtifactFilter) -> int:
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
    )


class Refresher:
    """Refreshes collections: GitHub through `client`, other kinds of source through `providers`."""

    def __init__(
        self, client: GitHubAPI, *, concurrency: int = 8, providers: Sequence[Provider] = ()
    ) -> None:
        self.client = client
        self.concurrency = concurrency
        self.providers: list[Provider] = [GitHubProvider(client), *providers]
        self._by_kind = {kind: p for p in self.providers for kind in p.kinds}

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
        """Run a refresh now and return its finished record.

        Raises RefreshInProgress when the collection is busy, and UpstreamUnavailable (with the
        run recorded as failed) when GitHub could not be read for any artifact at all.
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
        with log_context(run_id=str(run.pk)):
            try:
                run, unreachable, block = self._execute(
                    run, deadline_seconds=deadline_seconds, progress=progress
                )
            except Exception:
                # Whatever went wrong, the run must not keep the collection busy until its lease
                # runs out; it applied nothing (apply is its last, all-or-nothing step).
                logger.exception("refresh run %s stopped on an unexpected error", run.pk)
                fail_run(
                    run, code="internal_error", message="The run stopped on an unexpected error."
                )
                raise
            finally:
                # Pushes that arrived while this run held the collection run now.
                start_pending_push(run.collection_id)
        if block is not None:
            raise UpstreamUnavailable(
                f"{block.describe()}; nothing was sent and nothing was changed.",
                details={"run_id": str(run.pk)},
                retry_after=max(1, math.ceil(block.seconds_left())),
            )
        if unreachable:
            raise UpstreamUnavailable(
                "GitHub could not be read for any artifact; nothing was changed.",
                details={"run_id": str(run.pk)},
                retry_after=self._retry_after(),
            )
        return run

    def _read(self, targets: list[Target], context: ReadContext) -> dict[Any, UpstreamArtifact]:
        """Hand each provider the targets of its kinds; one answer per target."""
        reads: dict[Any, UpstreamArtifact] = {}
        for provider in self.providers:
            mine = [t for t in targets if self._by_kind[t.source.kind] is provider]
            if mine:
                reads.update(provider.reader(context).read(mine))
        return reads

    def _blocked(self, targets: list[Target]) -> Block | None:
        """Why the run must not send anything at all (a shared pause or spent quota), or None."""
        for provider in self.providers:
            check = getattr(provider, "unavailable", None)
            if check is None or not any(self._by_kind[t.source.kind] is provider for t in targets):
                continue
            block: Block | None = check()
            if block is not None:
                return block
        return None

    def _retry_after(self) -> int | None:
        """Seconds until GitHub may be asked again, when the run met a pause or spent the quota."""
        block = self.client.quota.blocked(self.client.quota.state.resources.keys())
        if block is None:
            rate = self.client.rate_limit
            if rate is None or rate.remaining > 0:
                return None
            return max(1, math.ceil((rate.reset_at - datetime.now(UTC)).total_seconds()))
        return max(1, math.ceil(block.seconds_left()))

    def execute(
        self,
        run: RefreshRun,
        *,
        deadline_seconds: float | None = None,
        progress: Progress | None = None,
    ) -> RefreshRun:
        """Refresh the artifacts of a running run and record the outcome.

        A run that may not ask GitHub at all (paused or out of quota) is failed at once with
        code `upstream_unavailable`.
        """
        return self._execute(run, deadline_seconds=deadline_seconds, progress=progress)[0]

    def _execute(
        self,
        run: RefreshRun,
        *,
        deadline_seconds: float | None,
        progress: Progress | None,
    ) -> tuple[RefreshRun, bool, Block | None]:
        started = time.monotonic()
        options = options_of(run)
        artifacts = select_artifacts(
            run.collection_id, options.artifact_filter, with_content=options.mode == Mode.SYNC
        )
        results: dict[Any, Result] = {}
        targets: list[Target] = []
        for artifact in artifacts:
            result = Result(key=artifact.key, artifact=artifact, outcome=skipped(""))
            results[artifact.pk] = result
            try:
                source = parse_source(artifact.source)
            except InvalidSource as exc:
                result.outcome = errored("invalid_source", f"invalid source: {exc}")
                continue
            if source.kind in self._by_kind:
                targets.append(Target(artifact.pk, artifact.type, source))
            else:
                unsupported = source.kind is SourceKind.UNSUPPORTED
                reason = "unsupported_source" if unsupported else "no_upstream"
                result.outcome = skipped(reason, current_sha=artifact.resolved_sha)

        total = len(artifacts)
        block = self._blocked(targets)
        if block is not None:
            # Another run or process met a secondary limit or spent the quota: asking now
            # would only prolong the penalty, so the run sends nothing and ends here.
            logger.warning("refresh run %s not started: %s", run.pk, block.describe())
            fail_run(
                run,
                code="upstream_unavailable",
                message=f"{block.describe()}; nothing was sent and nothing was changed.",
            )
            return run, True, block
        done = total - len(targets)
        heartbeat(run, total=total, processed=done)
        last_beat = time.monotonic()
        beat_every = PROGRESS_EVERY if run.background else settings.REFRESH_RUN_LEASE_SECONDS / 4

        def tick(count: int) -> None:
            nonlocal done, last_beat
            done += count
            if progress:
                progress(done, total)
            if time.monotonic() - last_beat > beat_every:
                heartbeat(run, processed=done)
                last_beat = time.monotonic()

        cache = HttpCache()
        context = ReadContext(
            cache=cache,
            concurrency=self.concurrency,
            deadline=started + deadline_seconds if deadline_seconds else None,
            on_progress=tick,
        )
        reads = self._read(targets, context)
        cache.flush()

        for target in targets:
            result = results[target.id]
            read = reads[target.id]
            result.outcome = evaluate(artifact=result.artifact, upstream=read, options=options)
            result.duration_ms = read.duration_ms
        # Nothing could be read, and only because GitHub was down or out of quota.
        unreachable = bool(targets) and all(
            results[t.id].outcome.error_code in UNREACHABLE
            or results[t.id].outcome.reason in UNREACHABLE
            for t in targets
        )
        rate_limit = self.client.rate_limit
        apply_results(
            run,
            list(results.values()),
            writes=options.writes,
            rate_limit=rate_limit.as_dict() if rate_limit else None,
        )
        run.refresh_from_db()
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
        return run, unreachable, None
