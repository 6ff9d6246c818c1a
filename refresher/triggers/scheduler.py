"""Scheduled refreshes, run by the task worker's periodic ticker (`refresher.triggers.periodic`).

Every pass looks for collections whose `next_refresh_at` has come. A worker takes a slot by
moving `next_refresh_at` to the next slot after now with a compare-and-swap
(`UPDATE ... WHERE next_refresh_at = <the slot it read>`): of several workers reading the same due
slot, exactly one update matches, so a slot runs at most once however many workers there are.
Moving to the next slot *after now* means that slots missed while no worker ran collapse into one
run on recovery. A slot that finds the collection busy is skipped; the next slot stands.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from collections_app.models import Collection
from refresher.exceptions import InvalidSchedule, RefreshInProgress
from refresher.models import ACTIVE_STATUSES, RefreshRun, Trigger
from refresher.options import RefreshOptions
from refresher.schedules import next_slot
from refresher.service import launch
from refresher.triggers.pending import start_pending_push
from refresher.triggers.periodic import periodic

logger = logging.getLogger("refresher.scheduler")


def take_slot(collection: Collection, *, now: datetime) -> datetime | None:
    """Claim the collection's due slot for this worker; the slot, or None when another took it."""
    slot = collection.next_refresh_at
    try:
        following = next_slot(collection.refresh_schedule, now)
    except InvalidSchedule:
        following = None  # a schedule written past validation is switched off, not retried
    won = Collection.objects.filter(
        pk=collection.pk,
        next_refresh_at=slot,
        refresh_schedule=collection.refresh_schedule,
    ).update(next_refresh_at=following)
    return slot if won else None


def run_due_schedules(*, now: datetime | None = None) -> list[RefreshRun]:
    """Start one background run per collection whose slot has come; the runs started."""
    now = now or timezone.now()
    due = list(
        Collection.objects.exclude(refresh_schedule="")
        .filter(next_refresh_at__lte=now)
        .only("pk", "refresh_schedule", "next_refresh_at", "auto_refresh_mode")
        .order_by("next_refresh_at")
    )
    started = []
    for collection in due:
        slot = take_slot(collection, now=now)
        if slot is None:
            logger.debug("slot of collection %s taken by another worker", collection.pk)
            continue
        options = RefreshOptions(mode=collection.auto_refresh_mode, background=True)
        try:
            run = launch(collection, options, trigger=Trigger.SCHEDULE, inline=False).run
        except RefreshInProgress:
            logger.info(
                "scheduled refresh of collection %s at %s skipped: the collection is busy",
                collection.pk,
                slot.isoformat(),
            )
            continue
        started.append(run)
        logger.info(
            "scheduled refresh of collection %s for slot %s: run %s",
            collection.pk,
            slot.isoformat(),
            run.pk,
        )
    return started


def start_waiting_pushes() -> int:
    """Start the runs of pushes still waiting on a free collection (their run's end missed them,
    e.g. because its worker died); how many were started."""
    waiting = (
        Collection.objects.exclude(pending_push_ids=[])
        .exclude(refresh_runs__status__in=ACTIVE_STATUSES)
        .values_list("pk", flat=True)
    )
    return sum(1 for pk in list(waiting) if start_pending_push(pk) is not None)


@periodic("refresh-schedules", every=settings.REFRESH_SCHEDULER_EVERY)
def scheduler_pass() -> list[RefreshRun]:
    started = run_due_schedules()
    pushed = start_waiting_pushes()
    logger.debug(
        "scheduler pass: %d scheduled run(s), %d waiting push run(s)", len(started), pushed
    )
    return started
