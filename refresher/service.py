"""Starting runs: the one launch path every door calls.

The API, the admin, `manage.py refresh_collection`, discovery's refresh, the scheduler, push
webhooks and waiting pushes all call `launch`. A run is carried out inline (`refresh_now`), or
queued: inserted, then handed to the task worker once its row is committed (`queue_run`, the one
place that does so), where the `refresh_run` task carries it out. Both ways announce a run's end
with `refresher.signals.run_finished`; what follows a run (waiting pushes, notifications) listens
there, so neither the engine nor this module knows the triggers.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.tasks import task

from collections_app.models import Collection
from refresher.engine import Progress, count_artifacts
from refresher.exceptions import IdempotencyKeyReused, RefreshInProgress
from refresher.factory import refresher_from_settings
from refresher.models import RefreshRun, Trigger
from refresher.options import RefreshOptions
from refresher.runs import (
    Requester,
    claim,
    fail_run,
    fail_stale_runs,
    recorded_user,
    request_fingerprint,
    start_run,
)
from refresher.signals import run_finished
from skillmeat_site.logs import log_context

logger = logging.getLogger("refresher.service")


@dataclass(frozen=True, slots=True)
class Launched:
    """The run a launch started (or, for a repeated Idempotency-Key, replayed)."""

    run: RefreshRun
    background: bool
    replayed: bool = False


def launch(
    collection: Collection,
    options: RefreshOptions,
    *,
    trigger: str,
    user: Requester = None,
    request_id: str = "",
    idempotency_key: str = "",
    inline: bool | None = None,
    deadline_seconds: float | None = None,
    progress: Progress | None = None,
) -> Launched:
    """Start a run of `collection`: carried out now, or queued for the task worker.

    `inline=None` lets the request decide: queued when it asks for the background or selects more
    artifacts than `REFRESH_SYNC_MAX_ARTIFACTS`, inline otherwise. `deadline_seconds` and
    `progress` apply to an inline run. With an Idempotency-Key, a repeated request replays the run
    the first one started. Raises RefreshInProgress when the collection is busy,
    IdempotencyKeyReused, and (inline) UpstreamUnavailable when upstream could not be asked.
    """
    earlier = previous_attempt(collection, user, idempotency_key, options)
    if earlier is not None:
        if earlier.is_active and not earlier.background:
            raise RefreshInProgress(
                "The request with this Idempotency-Key is still running.",
                details={"run_id": str(earlier.pk)},
            )
        return Launched(earlier, background=earlier.background, replayed=True)
    if inline is None:
        large = (
            count_artifacts(collection.pk, options.artifact_filter)
            > settings.REFRESH_SYNC_MAX_ARTIFACTS
        )
        inline = not (options.background or large)
    if not inline:
        run = queue_run(
            collection,
            options,
            trigger=trigger,
            user=user,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        return Launched(run, background=True)
    run = refresh_now(
        collection,
        options,
        trigger=trigger,
        user=user,
        request_id=request_id,
        idempotency_key=idempotency_key,
        deadline_seconds=deadline_seconds,
        progress=progress,
    )
    return Launched(run, background=False)


def previous_attempt(
    collection: Collection, user: Requester, idempotency_key: str, options: RefreshOptions
) -> RefreshRun | None:
    """The run an earlier request with this Idempotency-Key started, if any.

    The same key with a different request is refused: replaying an answer to another question
    would be wrong, and starting a second run would defeat the key.
    """
    requester = recorded_user(user)
    if not idempotency_key or requester is None:
        return None
    run = RefreshRun.objects.filter(requested_by=requester, idempotency_key=idempotency_key).first()
    if run is not None and run.request_fingerprint != request_fingerprint(collection.pk, options):
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different refresh request.",
            details={"Idempotency-Key": ["Already used with another body."]},
        )
    return run


def refresh_now(
    collection: Collection,
    options: RefreshOptions,
    *,
    trigger: str = Trigger.API,
    user: Requester = None,
    request_id: str = "",
    idempotency_key: str = "",
    deadline_seconds: float | None = None,
    progress: Progress | None = None,
) -> RefreshRun:
    """Carry out a run now with the production providers; its finished record.

    Raises RefreshInProgress when the collection is busy, and UpstreamUnavailable (with the run
    recorded as failed) when upstream could not be read for any artifact at all.
    """
    with refresher_from_settings() as refresher:
        run = start_run(
            collection=collection,
            options=options,
            user=user,
            request_id=request_id,
            idempotency_key=idempotency_key,
            queued=False,
            trigger=trigger,
        )
        try:
            result = refresher.execute(run, deadline_seconds=deadline_seconds, progress=progress)
        finally:
            run_finished.send(sender=RefreshRun, run=run)
        return refresher.answer(result)


def queue_run(
    collection: Collection,
    options: RefreshOptions,
    *,
    trigger: str,
    user: Requester = None,
    request_id: str = "",
    idempotency_key: str = "",
) -> RefreshRun:
    """Record a queued run and hand it to a task worker once the row is committed."""
    run = start_run(
        collection=collection,
        options=options,
        user=user,
        request_id=request_id,
        idempotency_key=idempotency_key,
        queued=True,
        trigger=trigger,
    )

    def send() -> None:
        try:
            refresh_run.using(backend=settings.REFRESH_TASK_BACKEND).enqueue(str(run.pk))
        except Exception:
            logger.exception("could not queue refresh run %s", run.pk)
            fail_run(run, code="internal_error", message="The run could not be queued.")

    # A worker taking the task must always find the run's row.
    transaction.on_commit(send)
    return run


@task()
def refresh_run(run_id: str) -> str:
    """Carry out a queued run in the task worker; its final status (or why it did not run)."""
    fail_stale_runs()
    run = RefreshRun.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    # The worker's lines about this run carry the id of the request that queued it.
    with log_context(request_id=run.request_id, run_id=str(run.pk)):
        if not claim(run):
            return f"not queued ({run.status})"
        with refresher_from_settings() as refresher:
            try:
                refresher.execute(run)
            finally:
                run_finished.send(sender=RefreshRun, run=run)
        return str(run.status)
