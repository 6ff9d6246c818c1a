"""Notifications: a signed JSON POST to a collection's `notify_url` when a refresh nobody asked
for (a schedule, a push) finds updates or applies changes (SPEC 13).

Each notification is a `NotificationDelivery` row holding the exact body, recorded when a run
ends (`queue_notification`, a receiver of `refresher.signals.run_finished`); the task worker sends
it (`deliver_notification`), retrying network errors and 5xx answers with growing delays up to
`NOTIFY_MAX_ATTEMPTS`, and records every attempt. Where it may be sent is decided by
`refresher.triggers.outbound`, again at every attempt.
"""

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TypedDict

import httpx
from django.conf import settings
from django.db import transaction
from django.tasks import default_task_backend, task, task_backends
from django.utils import timezone

from collections_app.models import Collection
from refresher.exceptions import OutboundRefused
from refresher.models import DeliveryStatus, NotificationDelivery, RefreshRun, Trigger
from refresher.options import FilterData
from refresher.triggers.outbound import post
from refresher.updates.proposals import pending_count
from refresher.upstream.provider import RateLimitJSON

logger = logging.getLogger("refresher.notify")

EVENT = "refresh.finished"
NOTIFYING_TRIGGERS = frozenset({Trigger.SCHEDULE, Trigger.PUSH})
USER_AGENT = "SkillMeat-Site-Notifier/1"


class AttemptRecord(TypedDict, total=False):
    """One attempt as a delivery's `attempts` list keeps it."""

    at: str | None
    attempt: int
    status: int  # the answer's HTTP status, when there was an answer
    error: str  # why there was none, or why the address was refused


class RunCounts(TypedDict):
    total: int
    refreshed: int
    unchanged: int
    skipped: int
    error: int
    updates_available: int
    processed: int


class RunError(TypedDict):
    code: str
    message: str


class RunSummary(TypedDict):
    """A run as RefreshResponse shows it, without its entries."""

    run_id: str
    collection_id: str
    status: str
    mode: str
    trigger: str
    dry_run: bool
    fields: list[str]
    artifact_filter: FilterData
    background: bool
    started_at: str | None
    finished_at: str | None
    duration_ms: int | None
    summary: RunCounts
    rate_limit: RateLimitJSON | None
    error: RunError | None
    rolled_back_at: str | None
    request_id: str


class ArtifactNews(TypedDict):
    """An artifact a run found news for: the fields it changed, whether an update waits."""

    artifact: str
    fields: list[str]
    update_available: bool | None


class CollectionName(TypedDict):
    id: str
    name: str


class Notification(TypedDict):
    """The body of a notification (SPEC 13)."""

    event: str
    text: str
    collection: CollectionName
    run: RunSummary
    changes: list[ArtifactNews]
    pending_updates: int


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_summary(run: RefreshRun) -> RunSummary:
    """The run as RefreshResponse shows it, without its entries (the API's list shape)."""
    return {
        "run_id": str(run.pk),
        "collection_id": str(run.collection_id),
        "status": run.status,
        "mode": run.mode,
        "trigger": run.trigger,
        "dry_run": run.dry_run,
        "fields": list(run.fields),
        "artifact_filter": run.artifact_filter,
        "background": run.background,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_ms": run.duration_ms,
        "summary": {
            "total": run.total,
            "refreshed": run.refreshed,
            "unchanged": run.unchanged,
            "skipped": run.skipped,
            "error": run.error,
            "updates_available": run.updates_available,
            "processed": run.processed,
        },
        "rate_limit": run.rate_limit,
        "error": {"code": run.error_code, "message": run.error_message} if run.error_code else None,
        "rolled_back_at": _iso(run.rolled_back_at),
        "request_id": run.request_id,
    }


def _changes(run: RefreshRun) -> tuple[list[ArtifactNews], int]:
    """Per artifact with news: its changed fields and update flag; and how many were applied."""
    changes: list[ArtifactNews] = []
    applied = 0
    for entry in run.entries.order_by("artifact_key"):
        if not entry.changes and not entry.update_available:
            continue
        changes.append(
            {
                "artifact": entry.artifact_key,
                "fields": sorted(entry.changes),
                "update_available": entry.update_available,
            }
        )
        applied += int(entry.applied)
    return changes, applied


def _text(collection: Collection, run: RefreshRun, applied: int, pending: int) -> str:
    why = "scheduled" if run.trigger == Trigger.SCHEDULE else "push-triggered"
    news = []
    if run.updates_available:
        news.append(f"{run.updates_available} update{'s' if run.updates_available != 1 else ''}")
        news[-1] += " available"
    if pending:
        news.append(f"{pending} waiting for review")
    if applied:
        news.append(f"{applied} artifact{'s' if applied != 1 else ''} changed")
    if run.error:
        news.append(f"{run.error} error{'s' if run.error != 1 else ''}")
    # One line: a chat's incoming webhook shows `text` as it is.
    name = " ".join(collection.name.split())
    return f"SkillMeat: {why} {run.mode} refresh of “{name}”: {', '.join(news)} ({run.status})."


def payload(collection: Collection, run: RefreshRun) -> Notification | None:
    """The notification of `run`, or None when it found nothing worth telling."""
    changes, applied = _changes(run)
    if not run.updates_available and not applied:
        return None
    # Every update of the collection waiting for review, this run's and earlier ones (SPEC 17).
    pending = pending_count(collection.pk)
    return {
        "event": EVENT,
        "text": _text(collection, run, applied, pending),
        "collection": {"id": str(collection.pk), "name": collection.name},
        "run": run_summary(run),
        "changes": changes,
        "pending_updates": pending,
    }


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification_for(run: RefreshRun) -> NotificationDelivery | None:
    """Record the notification a finished run owes its collection; None when it owes none."""
    if run.trigger not in NOTIFYING_TRIGGERS or run.is_active or run.dry_run:
        return None
    collection = Collection.objects.filter(pk=run.collection_id).first()
    if collection is None or not collection.notify_url:
        return None
    data = payload(collection, run)
    if data is None:
        return None
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return NotificationDelivery.objects.create(
        run=run, collection=collection, url=collection.notify_url, body=body
    )


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1-based): 1x, 4x, 16x, ..."""
    return timedelta(seconds=settings.NOTIFY_RETRY_BACKOFF * 4 ** (attempt - 1))


def attempt(delivery: NotificationDelivery) -> datetime | None:
    """Send the notification once and record the outcome; when to try again, or None if done.

    Network errors and 5xx answers are retried; any other answer, a refused address and the last
    attempt end the delivery. Redirects are not followed: a 3xx ends it as failed.
    """
    if delivery.status != DeliveryStatus.PENDING:
        return None
    now = timezone.now()
    number = len(delivery.attempts) + 1
    record: AttemptRecord = {"at": _iso(now), "attempt": number}
    retry = _send(delivery, record)
    delivery.attempts = [*delivery.attempts, record]
    delivery.error = record.get("error", "")
    if retry and number >= settings.NOTIFY_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        retry = False
    delivery.next_attempt_at = now + retry_delay(number) if retry else None
    if delivery.status != DeliveryStatus.PENDING:
        delivery.finished_at = now
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "response_status",
            "error",
            "next_attempt_at",
            "finished_at",
        ]
    )
    logger.info(
        "notification %s attempt %d to collection %s: %s",
        delivery.pk,
        number,
        delivery.collection_id,
        record.get("status") or record.get("error"),
    )
    return delivery.next_attempt_at


def _send(delivery: NotificationDelivery, record: AttemptRecord) -> bool:
    """POST the delivery's body once; note the answer in `record` and the delivery's status.
    True when the attempt should be retried (a network error, a 5xx)."""
    secret = (
        Collection.objects.filter(pk=delivery.collection_id)
        .values_list("notify_secret", flat=True)
        .first()
    )
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-SkillMeat-Event": EVENT,
        "X-SkillMeat-Delivery": str(delivery.pk),
    }
    if secret:
        headers["X-SkillMeat-Signature-256"] = signature(secret, body)
    try:
        response = post(
            delivery.url,
            body=body,
            headers=headers,
            timeout=settings.NOTIFY_TIMEOUT,
            allow_private=settings.NOTIFY_ALLOW_PRIVATE,
        )
    except OutboundRefused as exc:
        record["error"] = f"refused: {exc}"
        delivery.status = DeliveryStatus.REFUSED
        return False
    except httpx.HTTPError as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"[:500]
        return True
    record["status"] = response.status_code
    delivery.response_status = response.status_code
    if 200 <= response.status_code < 300:
        delivery.status = DeliveryStatus.DELIVERED
    elif response.status_code >= 500:
        return True
    else:
        delivery.status = DeliveryStatus.FAILED
    return False


def queue_notification(sender: object, *, run: RefreshRun, **kwargs: object) -> None:
    """When a run ends: record the notification it owes, if any, and queue its first attempt."""
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
