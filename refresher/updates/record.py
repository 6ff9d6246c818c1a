"""Writing what a run's review step decided into the pending-updates table (SPEC 17).

Called inside the run's apply transaction, after the artifacts are written, with the decisions
as they were finally recorded: a proposal whose content was taken, or whose artifact is current
again, is removed; new content is proposed, replacing what was there, except where a reviewer
rejected that very content meanwhile. A fixed number of queries, whatever the number of rows.
"""

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from django.utils import timezone

from refresher.evaluate import CONTENT, Decision
from refresher.models import PendingUpdate, ProposalState, RefreshRun
from refresher.updates.step import Proposal, Reviewed

_FIELDS = [
    "state",
    "current_sha",
    "current_content_sha",
    "upstream_sha",
    "upstream_content_sha",
    "main_file",
    "found_at",
    "run",
    "commits",
    "commits_truncated",
    "diff",
    "diff_truncated",
    "files",
    "files_truncated",
    "findings",
    "rejected_at",
    "rejected_by",
    "updated_at",
]


def record_review(run: RefreshRun, reviewed: Reviewed, decisions: Sequence[Decision]) -> None:
    """Bring the table in line with the run (inside its transaction)."""
    final = {d.artifact_id: d for d in decisions}
    done = [
        artifact_id
        for artifact_id in reviewed.settled
        if (d := final.get(artifact_id)) is not None
        and d.read
        and d.error_code != "modified_during_refresh"
        and (d.update_available is False or _content_applied(d))
    ]
    if done:
        PendingUpdate.objects.filter(artifact_id__in=done).delete()
    proposals = [p for p in reviewed.proposals if p.artifact_id in final]
    if not proposals:
        return
    # A reviewer may have rejected this very content while the run read upstream.
    rejected = set(
        PendingUpdate.objects.filter(
            artifact_id__in=[p.artifact_id for p in proposals], state=ProposalState.REJECTED
        ).values_list("artifact_id", "upstream_content_sha")
    )
    now = timezone.now()
    rows = [
        _row(run, p, now=now)
        for p in proposals
        if (p.artifact_id, p.upstream_content_sha) not in rejected
    ]
    PendingUpdate.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["artifact"],
        update_fields=_FIELDS,
    )


def _content_applied(decision: Decision) -> bool:
    change = decision.changes.get(CONTENT)
    return bool(change and change["applied"])


def _row(run: RefreshRun, proposal: Proposal, *, now: datetime) -> PendingUpdate:
    values = asdict(proposal)
    artifact_id: uuid.UUID = values.pop("artifact_id")
    return PendingUpdate(
        artifact_id=artifact_id,
        collection_id=run.collection_id,
        state=ProposalState.PENDING,
        found_at=now,
        run=run,
        rejected_at=None,
        rejected_by=None,
        updated_at=now,
        **values,
    )
