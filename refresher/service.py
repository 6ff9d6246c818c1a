"""Starting refreshes: the entry point the API, admin and command line share."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from collections_app.models import Collection
from refresher.engine import Progress, count_artifacts
from refresher.exceptions import IdempotencyKeyReused, RefreshInProgress
from refresher.factory import refresher_from_settings
from refresher.models import RefreshRun, Trigger
from refresher.options import RefreshOptions
from refresher.runs import Requester, recorded_user, request_fingerprint, start_run
from refresher.triggers import tasks


def refresh_now(
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
    """Refresh inline with the production client; see Refresher.refresh."""
    refresher = refresher_from_settings()
    try:
        return refresher.refresh(
            collection,
            options,
            user=user,
            request_id=request_id,
            idempotency_key=idempotency_key,
            deadline_seconds=deadline_seconds,
            progress=progress,
            trigger=trigger,
        )
    finally:
        refresher.client.close()


def refresh_in_background(
    collection: Collection,
    options: RefreshOptions,
    *,
    user: Requester = None,
    request_id: str = "",
    idempotency_key: str = "",
    trigger: str = Trigger.API,
) -> RefreshRun:
    """Record a queued run and hand it to a task worker."""
    run = start_run(
        collection=collection,
        options=options,
        user=user,
        request_id=request_id,
        idempotency_key=idempotency_key,
        queued=True,
        trigger=trigger,
    )
    tasks.enqueue(run)
    return run


@dataclass(frozen=True)
class Started:
    run: RefreshRun
    background: bool
    replayed: bool = False


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


def start_refresh(
    collection: Collection,
    options: RefreshOptions,
    *,
    user: Requester = None,
    request_id: str = "",
    idempotency_key: str = "",
) -> Started:
    """Refresh inline, or in the background when asked to or when the selection is large."""
    earlier = previous_attempt(collection, user, idempotency_key, options)
    if earlier is not None:
        if earlier.is_active and not earlier.background:
            raise RefreshInProgress(
                "The request with this Idempotency-Key is still running.",
                details={"run_id": str(earlier.pk)},
            )
        return Started(earlier, background=earlier.background, replayed=True)
    large = (
        count_artifacts(collection.pk, options.artifact_filter)
        > settings.REFRESH_SYNC_MAX_ARTIFACTS
    )
    kwargs: dict[str, Any] = {
        "user": user,
        "request_id": request_id,
        "idempotency_key": idempotency_key,
        "trigger": Trigger.API,
    }
    if options.background or large:
        return Started(refresh_in_background(collection, options, **kwargs), background=True)
    run = refresh_now(
        collection, options, deadline_seconds=settings.REFRESH_INLINE_DEADLINE, **kwargs
    )
    return Started(run, background=False)
