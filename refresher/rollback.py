"""Rolling back a run: restore the old values it applied, where nobody changed them since."""

from datetime import datetime
from typing import TypedDict

from django.db import transaction
from django.utils import timezone

from collections_app.models import Artifact
from refresher.changes import ChangeValue, FieldChange, same_value
from refresher.evaluate import CONTENT
from refresher.exceptions import RollbackRefused
from refresher.models import Mode, RefreshEntry, RefreshRun
from refresher.runs import Requester, recorded_user

CONTENT_COLUMNS = {"text": "content", "content_sha": "content_sha", "resolved_sha": "resolved_sha"}


class ArtifactRollback(TypedDict):
    """What a rollback did to one artifact: the fields restored, and those left with why."""

    artifact_id: str
    artifact: str  # the entry's `type:name`
    restored: list[str]
    left: dict[str, str]


class RollbackReport(TypedDict):
    """A run's rollback as the API answers it and the run's `rollback_report` keeps it."""

    run_id: str
    rolled_back_at: str
    restored: int  # fields, over all artifacts
    left: int
    artifacts: list[ArtifactRollback]


def _current(artifact: Artifact, field: str) -> object:
    if field == CONTENT:
        return {key: getattr(artifact, column) for key, column in CONTENT_COLUMNS.items()}
    return getattr(artifact, field)


def _unchanged_since(field: str, current: object, new: ChangeValue) -> bool:
    if field == CONTENT:
        return bool(current == new)
    return same_value(field, current, new)


def _restore(artifact: Artifact, field: str, old: ChangeValue) -> list[str]:
    if field != CONTENT:
        setattr(artifact, field, old)
        return [field]
    if not isinstance(old, dict):
        raise ValueError(f"the content change of {artifact.key} holds no content version")
    artifact.content = old["text"]
    artifact.content_sha = old["content_sha"]
    artifact.resolved_sha = old["resolved_sha"]
    return list(CONTENT_COLUMNS.values())


def _check_can_roll_back(run: RefreshRun) -> None:
    if run.dry_run or run.mode == Mode.CHECK_ONLY:
        raise RollbackRefused(
            "Dry runs and check runs changed nothing, so there is nothing to roll back."
        )
    if run.is_active:
        raise RollbackRefused("The run has not finished yet.")


def _claim(run: RefreshRun, *, user: Requester, now: datetime) -> None:
    """Mark the run rolled back first, so a second, concurrent rollback finds it taken."""
    claimed = RefreshRun.objects.filter(pk=run.pk, rolled_back_at__isnull=True).update(
        rolled_back_at=now, rolled_back_by=recorded_user(user)
    )
    if not claimed:
        raise RollbackRefused("This run was already rolled back.")


def _roll_back_entry(
    entry: RefreshEntry, artifact: Artifact, columns: set[str]
) -> ArtifactRollback:
    """Restore the entry's applied fields on `artifact` (unsaved) where they are still as the
    run left them; the columns written are added to `columns`."""
    restored: list[str] = []
    left: dict[str, str] = {}
    changes: dict[str, FieldChange] = entry.changes
    for field, change in changes.items():
        if not change.get("applied"):
            continue
        if _unchanged_since(field, _current(artifact, field), change["new"]):
            columns.update(_restore(artifact, field, change["old"]))
            restored.append(field)
        else:
            left[field] = "changed since the run"
    return ArtifactRollback(
        artifact_id=str(artifact.pk), artifact=entry.artifact_key, restored=restored, left=left
    )


def _summary(run: RefreshRun, now: datetime, report: list[ArtifactRollback]) -> RollbackReport:
    return RollbackReport(
        run_id=str(run.pk),
        rolled_back_at=now.isoformat().replace("+00:00", "Z"),
        restored=sum(len(r["restored"]) for r in report),
        left=sum(len(r["left"]) for r in report),
        artifacts=report,
    )


def _restore_entries(entries: list[RefreshEntry], *, now: datetime) -> list[ArtifactRollback]:
    """Restore what the entries applied, on the artifacts still there, locked and in one write."""
    artifacts = Artifact.objects.select_for_update().in_bulk([e.artifact_id for e in entries])
    report: list[ArtifactRollback] = []
    columns: set[str] = set()
    touched: list[Artifact] = []
    for entry in entries:
        artifact = artifacts.get(entry.artifact_id)
        if artifact is None:
            continue
        done = _roll_back_entry(entry, artifact, columns)
        if done["restored"]:
            artifact.updated_at = now
            touched.append(artifact)
        report.append(done)
    if touched:
        Artifact.objects.bulk_update(touched, sorted(columns | {"updated_at"}), batch_size=500)
    return report


def rollback_run(run: RefreshRun, *, user: Requester = None) -> RollbackReport:
    """Undo a run's applied changes; fields edited since the run are left alone and reported.

    Raises RollbackRefused for dry runs, checks, unfinished runs and runs already rolled back.
    """
    _check_can_roll_back(run)
    now = timezone.now()
    with transaction.atomic():
        _claim(run, user=user, now=now)
        entries = list(run.entries.filter(applied=True, artifact__isnull=False))
        summary = _summary(run, now, _restore_entries(entries, now=now))
        RefreshRun.objects.filter(pk=run.pk).update(rollback_report=summary)
    run.refresh_from_db()
    return summary
