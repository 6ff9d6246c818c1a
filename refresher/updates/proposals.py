"""The pending-updates table as reviewers use it: what waits, choosing what to approve, rejecting.

Runs write proposals (`refresher.updates.record`); this module reads them for people and turns a
reviewer's choice into the artifacts and commits an approval syncs.
"""

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from collections_app.models import Collection
from refresher.exceptions import InvalidRequest, NothingPending
from refresher.models import PendingUpdate, ProposalState
from refresher.runs import Requester, recorded_user


def pending_updates(collection_id: uuid.UUID | str) -> QuerySet[PendingUpdate]:
    """The collection's updates waiting for review, oldest first, with their artifacts."""
    return (
        PendingUpdate.objects.filter(collection_id=collection_id, state=ProposalState.PENDING)
        .select_related("artifact")
        .order_by("found_at", "artifact__type", "artifact__name")
    )


def pending_count(collection_id: uuid.UUID | str) -> int:
    return PendingUpdate.objects.filter(
        collection_id=collection_id, state=ProposalState.PENDING
    ).count()


@dataclass(frozen=True, slots=True)
class Choice:
    """What a reviewer asked for: some artifacts by id, or every pending one."""

    artifact_ids: tuple[uuid.UUID, ...] = ()
    all: bool = False


def chosen(collection: Collection, choice: Choice) -> list[PendingUpdate]:
    """The pending updates a choice names, in a stable order.

    An id that is not an artifact of this collection with an update waiting (unknown, another
    user's, already taken or rejected) is a 400 naming it; "all" with nothing waiting is a 409.
    """
    waiting = pending_updates(collection.pk)
    if choice.all:
        found = list(waiting)
        if not found:
            raise NothingPending("No updates of this collection are waiting for review.")
        return found
    wanted = list(dict.fromkeys(choice.artifact_ids))
    by_id = {p.artifact_id: p for p in waiting.filter(artifact_id__in=wanted)}
    missing = [str(i) for i in wanted if i not in by_id]
    if missing:
        message = "No update is waiting for review for: " + ", ".join(missing[:20])
        raise InvalidRequest(message, details={"artifact_ids": [message]})
    return [by_id[i] for i in wanted]


def reject(
    collection: Collection, choice: Choice, *, user: Requester = None
) -> list[PendingUpdate]:
    """Drop the chosen proposals until the artifacts' own content changes upstream again.

    The rows stay, marked rejected with the content they offered, so a later run finding that
    same tree or blob SHA does not propose it again.
    """
    with transaction.atomic():
        proposals = chosen(collection, choice)
        now = timezone.now()
        rejected_by = recorded_user(user)
        # Only rows still pending: a run may have taken or replaced one since they were read.
        PendingUpdate.objects.filter(
            artifact_id__in=[p.artifact_id for p in proposals], state=ProposalState.PENDING
        ).update(state=ProposalState.REJECTED, rejected_at=now, rejected_by=rejected_by)
    for proposal in proposals:
        proposal.state = ProposalState.REJECTED
        proposal.rejected_at = now
    return proposals
