"""GitHub webhooks: checking a delivery and turning a `push` into refresh runs (SPEC 13).

Nothing here reads GitHub: a push only starts background runs (or leaves its artifacts waiting
on a busy collection), so GitHub gets its answer well within its 10 seconds. The body is never
logged; it is checked against `X-Hub-Signature-256` before anything is parsed. What was done is
a `PushHandled` record; the view (`collections_app.webhook_views`) chooses the HTTP answer.
"""

import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from collections_app.models import Collection
from refresher.exceptions import (
    InvalidPush,
    InvalidRequest,
    InvalidSignature,
    NotFound,
    PayloadTooLarge,
    RefreshInProgress,
)
from refresher.models import Trigger, WebhookDelivery
from refresher.service import launch
from refresher.triggers.pending import defer_push, push_options
from refresher.triggers.push import PushPayload, match, parse_push

logger = logging.getLogger("refresher.webhooks")

MAX_BODY_BYTES = 5 * 1024 * 1024
SIGNATURE_PREFIX = "sha256="


@dataclass(frozen=True, slots=True)
class PushHandled:
    """What a delivery did: a push started `runs` and left `deferred` collections waiting; a
    delivery already handled is a `duplicate`; a `ping` is a `pong`; other events are ignored."""

    delivery: str
    runs: tuple[str, ...] = ()
    deferred: tuple[str, ...] = ()
    duplicate: bool = False
    ignored_event: str = ""
    pong: bool = False


def enabled() -> bool:
    return bool(settings.GITHUB_WEBHOOK_SECRET)


def check_enabled() -> None:
    if not enabled():
        raise NotFound("Not found.")


def check_size(length: int) -> None:
    if length > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"The payload is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB.",
            details={"max_bytes": MAX_BODY_BYTES},
        )


def verify_signature(body: bytes, header: str) -> None:
    """Raise InvalidSignature unless `header` is `sha256=<hex HMAC-SHA256 of body>`."""
    secret = settings.GITHUB_WEBHOOK_SECRET.encode()
    expected = SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()
    given = header.strip()
    if not given.startswith(SIGNATURE_PREFIX):
        # Missing, or another algorithm (GitHub's legacy `sha1=` header is not accepted).
        raise InvalidSignature(
            "The X-Hub-Signature-256 header is missing or is not sha256=<hex digest>."
        )
    if not hmac.compare_digest(expected.encode(), given.lower().encode()):
        raise InvalidSignature("The X-Hub-Signature-256 signature does not match the payload.")


def _payload(body: bytes) -> PushPayload:
    """The delivery's JSON object; every event's is read as a push's would be."""
    try:
        data: PushPayload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested too deeply
        raise InvalidRequest(
            "The payload is not JSON; set the webhook's content type to application/json.",
            details={"body": ["Expected a JSON object."]},
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest(
            "The payload must be a JSON object.", details={"body": ["Expected a JSON object."]}
        )
    return data


def handle(
    *, event: str, delivery: str, body: bytes, signature: str, request_id: str
) -> PushHandled:
    """Check and act on one delivery; raises the ServiceError of a refused one."""
    check_enabled()
    check_size(len(body))
    verify_signature(body, signature)
    payload = _payload(body)
    event, delivery = event.strip(), delivery.strip()
    missing = [h for h, v in (("X-GitHub-Event", event), ("X-GitHub-Delivery", delivery)) if not v]
    if missing:
        raise InvalidRequest(
            f"The {' and '.join(missing)} header is missing.",
            details={h: ["This header is required."] for h in missing},
        )
    if len(delivery) > 100:
        raise InvalidRequest(
            "The X-GitHub-Delivery header is too long.",
            details={"X-GitHub-Delivery": ["At most 100 characters."]},
        )
    with transaction.atomic():
        record = WebhookDelivery(delivery_id=delivery, event=event[:64])
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            logger.info("webhook delivery %s (%s) already handled", delivery, event)
            return PushHandled(delivery, duplicate=True)
        if event == "ping":
            return PushHandled(delivery, pong=True)
        if event != "push":
            return PushHandled(delivery, ignored_event=event)
        try:
            push = parse_push(payload)
        except InvalidPush as exc:
            raise InvalidRequest(
                f"The push payload is not usable: {exc}.",
                details={"repository": [str(exc)]},
            ) from None
        runs, deferred = start_push_runs(match(push), request_id=request_id)
        record.repository = push.full_name[:200]
        record.ref = str(payload.get("ref") or "")[:300]
        record.runs, record.deferred = runs, deferred
        record.save(update_fields=["repository", "ref", "runs", "deferred"])
    logger.info(
        "push delivery %s to %s branch %r: %d run(s) started, %d collection(s) busy",
        delivery,
        push.full_name,
        push.branch,
        len(runs),
        len(deferred),
    )
    return PushHandled(delivery, runs=tuple(runs), deferred=tuple(deferred))


def start_push_runs(
    matched: dict[uuid.UUID, list[uuid.UUID]], *, request_id: str = ""
) -> tuple[list[str], list[str]]:
    """One background run per collection for its matched artifacts; a busy collection keeps
    them waiting for the end of its active run. The runs started and the collections deferred."""
    runs: list[str] = []
    deferred: list[str] = []
    collections = Collection.objects.in_bulk(list(matched))
    for collection_id, artifact_ids in matched.items():
        collection = collections.get(collection_id)
        if collection is None:
            continue
        options = push_options(collection, artifact_ids)
        try:
            launched = launch(
                collection, options, trigger=Trigger.PUSH, request_id=request_id, inline=False
            )
        except RefreshInProgress:
            defer_push(collection_id, artifact_ids)
            deferred.append(str(collection_id))
            continue
        runs.append(str(launched.run.pk))
    return runs, deferred
