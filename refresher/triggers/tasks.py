"""Background work on Django's task framework (django-tasks-db by default): refresh runs and
notification deliveries."""

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.tasks import default_task_backend, task, task_backends

from refresher.factory import refresher_from_settings
from refresher.models import NotificationDelivery, RefreshRun
from refresher.runs import claim, fail_run, fail_stale_runs
from skillmeat_site.logs import log_context

logger = logging.getLogger("refresher.tasks")


@task()
def refresh_run(run_id: str) -> str:
    """Execute a queued run; returns its final status (or why it did not run)."""
    fail_stale_runs()
    run = RefreshRun.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    # The worker's lines about this run carry the id of the request that queued it.
    with log_context(request_id=run.request_id, run_id=str(run.pk)):
        return _execute(run)


def _execute(run: RefreshRun) -> str:
    from refresher.triggers.pending import start_pending_push

    run_id = str(run.pk)
    if not claim(run):
        return f"not queued ({run.status})"
    refresher = refresher_from_settings()
    try:
        run = refresher.execute(run)
    except Exception:
        logger.exception("background refresh run %s crashed", run_id)
        fail_run(run, code="internal_error", message="The run stopped on an unexpected error.")
        raise
    finally:
        refresher.client.close()
        # Pushes that arrived while this run held the collection run now.
        start_pending_push(run.collection_id)
    notify(run)
    return str(run.status)


def notify(run: RefreshRun) -> None:
    """Queue the notification a finished scheduled or push run owes, if any."""
    from refresher.triggers.notify import notification_for

    try:
        delivery = notification_for(run)
    except Exception:
        # A notification must never turn a finished run into a failed task.
        logger.exception("could not record the notification of run %s", run.pk)
        return
    if delivery is not None:
        enqueue_delivery(delivery)


@task()
def deliver_notification(delivery_id: str) -> str:
    """Send one notification attempt; queues the next attempt when this one should be retried."""
    from refresher.triggers.notify import attempt

    delivery = NotificationDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return "missing"
    retry_at = attempt(delivery)
    if retry_at is not None:
        enqueue_delivery(delivery, run_after=retry_at)
    return str(delivery.status)


def _backend_defers() -> bool:
    alias = settings.REFRESH_TASK_BACKEND
    backend = task_backends[alias] if alias else default_task_backend
    return bool(backend.supports_defer)


def enqueue_delivery(delivery: NotificationDelivery, *, run_after: datetime | None = None) -> None:
    """Queue a delivery attempt (after `run_after` where the backend can wait)."""

    def send() -> None:
        target = deliver_notification.using(backend=settings.REFRESH_TASK_BACKEND)
        if run_after is not None and _backend_defers():
            target = target.using(run_after=run_after)
        elif run_after is not None:
            # A backend without deferred tasks (the immediate one, in development) retries at
            # once; the attempt count still bounds the retries.
            logger.debug("task backend cannot defer; retrying %s now", delivery.pk)
        try:
            target.enqueue(str(delivery.pk))
        except Exception:
            logger.exception("could not queue notification %s", delivery.pk)

    transaction.on_commit(send)


def enqueue(run: RefreshRun) -> None:
    """Queue the run's task once the run row is committed, so a worker can always see it."""

    def send() -> None:
        try:
            refresh_run.using(backend=settings.REFRESH_TASK_BACKEND).enqueue(str(run.pk))
        except Exception:
            logger.exception("could not queue refresh run %s", run.pk)
            fail_run(run, code="internal_error", message="The run could not be queued.")

    transaction.on_commit(send)
