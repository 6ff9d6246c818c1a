"""Pushes that found their collection busy: their artifacts wait on the collection and run next.

A push never waits for a run and is never lost to one: the webhook adds the pushed artifacts'
ids to `Collection.pending_push_ids` when the collection has an active run, and the end of every
run (`start_after_run`, a receiver of `refresher.signals.run_finished`; and, as a safety net, the
scheduler's periodic pass) starts one background run for them.
"""

import logging
import uuid
from collections.abc import Iterable

from django.db import transaction

from collections_app.models import Artifact, Collection
from refresher.exceptions import RefreshInProgress
from refresher.models import RefreshRun, Trigger
from refresher.options import ArtifactFilter, RefreshOptions
from refresher.service import launch

logger = logging.getLogger("refresher.pending")


def defer_push(collection_id: uuid.UUID, artifact_ids: Iterable[uuid.UUID]) -> None:
    """Remember artifacts a push could not refresh now, merged with those already waiting."""
    with transaction.atomic():
        collection = Collection.objects.select_for_update().only("pk", "pending_push_ids")
        row = collection.get(pk=collection_id)
        waiting = list(row.pending_push_ids or [])
        waiting += [str(i) for i in artifact_ids if str(i) not in waiting]
        Collection.objects.filter(pk=collection_id).update(pending_push_ids=waiting)


def push_options(collection: Collection, artifact_ids: Iterable[uuid.UUID]) -> RefreshOptions:
    return RefreshOptions(
        mode=collection.auto_refresh_mode,
        artifact_filter=ArtifactFilter(ids=tuple(artifact_ids)),
        background=True,
    )


def start_pending_push(collection_id: uuid.UUID) -> RefreshRun | None:
    """Start the run of the collection's waiting push artifacts, if any and if it is free.

    The waiting ids are taken and the run inserted in one transaction: when another run won the
    collection meanwhile, the ids stay for the end of that run.
    """
    # The common case, nothing waiting, costs one cheap query and no transaction.
    if not Collection.objects.filter(pk=collection_id).exclude(pending_push_ids=[]).exists():
        return None
    try:
        with transaction.atomic():
            collection = Collection.objects.select_for_update().filter(pk=collection_id).first()
            if collection is None or not collection.pending_push_ids:
                return None
            ids = list(
                Artifact.objects.filter(
                    collection_id=collection_id, pk__in=collection.pending_push_ids
                ).values_list("pk", flat=True)
            )
            Collection.objects.filter(pk=collection_id).update(pending_push_ids=[])
            if not ids:  # the artifacts were deleted meanwhile
                return None
            options = push_options(collection, ids)
            run = launch(collection, options, trigger=Trigger.PUSH, inline=False).run
    except RefreshInProgress:
        return None
    logger.info("started deferred push run %s for collection %s", run.pk, collection_id)
    return run


def start_after_run(sender: object, *, run: RefreshRun, **kwargs: object) -> None:
    """When a run ends, the pushes that arrived while it held the collection run next."""
    start_pending_push(run.collection_id)
