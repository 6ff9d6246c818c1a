"""Run records: starting a run under the one-active-run guard, beating its heartbeat, ending it."""

import hashlib
import json
import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from collections_app.models import Collection
from refresher.exceptions import RefreshInProgress
from refresher.models import ACTIVE_STATUSES, RefreshRun, RunStatus, Trigger
from refresher.options import RefreshOptions

if TYPE_CHECKING:
    # The stubs' names for settings.AUTH_USER_MODEL (and it or AnonymousUser), which mypy's
    # Django plugin resolves to the configured model.
    from django.contrib.auth.models import _AnyUser, _User

logger = logging.getLogger("refresher.runs")

# Who asks for a run or a rollback: a user (settings.AUTH_USER_MODEL), an anonymous request, or
# nobody (the command line, the task worker). Only a saved user is recorded.
type Requester = _AnyUser | None


def recorded_user(user: Requester) -> "_User | None":
    """The user to record as having asked, or None for an anonymous or absent one."""
    return user if isinstance(user, AbstractBaseUser) and user.pk is not None else None


def request_fingerprint(collection_id: uuid.UUID, options: RefreshOptions) -> str:
    """What makes two refresh requests the same request (for Idempotency-Key replays)."""
    data = json.dumps(
        {"collection": str(collection_id), **options.fingerprint_data()}, sort_keys=True
    )
    return hashlib.sha256(data.encode()).hexdigest()


def fail_stale_runs(*, collection_id: uuid.UUID | None = None) -> int:
    """Mark runs whose worker stopped beating its heartbeat as failed; returns how many.

    Such a run applied nothing (its changes are written in one transaction at its very end), so
    failing it loses no data; it only frees the collection for the next run.
    """
    now = timezone.now()
    lost = Q(
        status=RunStatus.RUNNING,
        heartbeat_at__lt=now - timedelta(seconds=settings.REFRESH_RUN_LEASE_SECONDS),
    )
    # A queued run no worker took up (none running, or its task lost) must not hold the
    # collection forever either.
    unstarted = Q(
        status=RunStatus.QUEUED,
        heartbeat_at__lt=now - timedelta(seconds=settings.REFRESH_QUEUE_TIMEOUT_SECONDS),
    )
    stale = RefreshRun.objects.all()
    if collection_id is not None:
        stale = stale.filter(collection_id=collection_id)
    count = stale.filter(lost | unstarted).update(
        status=RunStatus.FAILED,
        finished_at=now,
        error_code=Case(When(lost, then=Value("worker_lost")), default=Value("not_started")),
        error_message=Case(
            When(
                lost,
                then=Value(
                    "The run stopped reporting progress and was abandoned; nothing was applied."
                ),
            ),
            default=Value("No worker started the run in time; nothing was applied."),
        ),
    )
    if count:
        logger.warning("failed %d abandoned refresh run(s)", count)
    return count


def start_run(
    *,
    collection: Collection,
    options: RefreshOptions,
    user: Requester,
    request_id: str = "",
    idempotency_key: str = "",
    queued: bool,
    trigger: str = Trigger.API,
) -> RefreshRun:
    """Create the run record; raise RefreshInProgress when the collection has an active run.

    The partial unique constraint decides races between processes: whoever inserts first wins.
    """
    fail_stale_runs(collection_id=collection.pk)
    now = timezone.now()
    run = RefreshRun(
        collection=collection,
        requested_by=recorded_user(user),
        mode=options.mode,
        dry_run=options.dry_run,
        fields=list(options.fields),
        artifact_filter=options.artifact_filter.as_dict(),
        background=queued,
        trigger=trigger,
        status=RunStatus.QUEUED if queued else RunStatus.RUNNING,
        started_at=None if queued else now,
        heartbeat_at=now,
        request_id=request_id,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint(collection.pk, options),
        review_commits={str(k): v for k, v in options.review_commits},
        accept_findings=options.accept_findings,
    )
    try:
        with transaction.atomic():
            run.save(force_insert=True)
    except IntegrityError:
        active = (
            RefreshRun.objects.filter(collection=collection, status__in=ACTIVE_STATUSES)
            .values_list("id", flat=True)
            .first()
        )
        if active is None:
            # The other constraint: a concurrent request with the same Idempotency-Key won.
            keyed = RefreshRun.objects.filter(
                requested_by=run.requested_by, idempotency_key=idempotency_key
            ).first()
            raise RefreshInProgress(
                "A request with this Idempotency-Key is already being handled.",
                details={"run_id": str(keyed.pk) if keyed else None},
            ) from None
        raise RefreshInProgress(
            "This collection is already being refreshed.", details={"run_id": str(active)}
        ) from None
    return run


def claim(run: RefreshRun) -> bool:
    """Move a queued run to running; False when it is no longer queued (taken or abandoned)."""
    now = timezone.now()
    claimed = RefreshRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if claimed:
        run.status, run.started_at, run.heartbeat_at = RunStatus.RUNNING, now, now
    return bool(claimed)


def heartbeat(run: RefreshRun, **progress: int) -> bool:
    """Record that the run is alive (with progress counts); False when it was abandoned."""
    now = timezone.now()
    alive = RefreshRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        heartbeat_at=now, **progress
    )
    return bool(alive)


def fail_run(run: RefreshRun, *, code: str, message: str) -> None:
    now = timezone.now()
    started = run.started_at or now
    RefreshRun.objects.filter(pk=run.pk, status__in=ACTIVE_STATUSES).update(
        status=RunStatus.FAILED,
        finished_at=now,
        duration_ms=int((now - started).total_seconds() * 1000),
        error_code=code,
        error_message=message,
    )
    run.refresh_from_db()
