"""Rolling back a run: restore the old values it applied, where nobody changed them since."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from collections_app.models import Artifact
from refresher.changes import FieldChange, same_value
from refresher.evaluate import CONTENT
from refresher.exceptions import RollbackRefused
from refresher.models import Mode, RefreshRun
from refresher.runs import Requester, recorded_user

CONTENT_COLUMNS = {"text": "content", "content_sha": "content_sha", "resolved_sha": "resolved_sha"}


def _current(artifact: Artifact, field: str) -> Any:
    if field == CONTENT:
        return {key: getattr(artifact, column) for key, column in CONTENT_COLUMNS.items()}
    return getattr(artifact, field)


def _unchanged_since(field: str, current: Any, new: Any) -> bool:
    if field == CONTENT:
        return bool(current == new)
    return same_value(field, current, new)


def _restore(artifact: Artifact, field: str, old: Any) -> list[str]:
    if field == CONTENT:
        for key, column in CONTENT_COLUMNS.items():
            setattr(artifact, column, old[key])
        return list(CONTENT_COLUMNS.values())
    setattr(artifact, field, old)
    return [field]


def rollback_run(run: RefreshRun, *, user: Requester = None) -> dict[str, Any]:
    """Undo a run's applied changes; fields edited since the run are left alone and reported.

    Raises RollbackRefused for dry runs, checks, unfinished runs and runs already rolled back.
    """
    if run.dry_run or run.mode == Mode.CHECK_ONLY:
        raise RollbackRefused(
            "Dry runs and check runs changed nothing, so there is nothing to roll back."
        )
    if run.is_active:
        raise RollbackRefused("The run has not finished yet.")
    now = timezone.now()
    with transaction.atomic():
        # Claiming the rollback first makes a second, concurrent rollback find it taken.
        claimed = RefreshRun.objects.filter(pk=run.pk, rolled_back_at__isnull=True).update(
            rolled_back_at=now, rolled_back_by=recorded_user(user)
        )
        if not claimed:
            raise RollbackRefused("This run was already rolled back.")
        entries = list(run.entries.filter(applied=True, artifact__isnull=False))
        artifacts = Artifact.objects.select_for_update().in_bulk([e.artifact_id for e in entries])
        report: list[dict[str, Any]] = []
        columns: set[str] = set()
        touched: list[Artifact] = []
        for entry in entries:
            artifact = artifacts.get(entry.artifact_id)
            if artifact is None:
                continue
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
            if restored:
                artifact.updated_at = now
                touched.append(artifact)
            report.append(
                {
                    "artifact_id": str(artifact.pk),
                    "artifact": entry.artifact_key,
                    "restored": restored,
                    "left": left,
                }
            )
        if touched:
            Artifact.objects.bulk_update(touched, sorted(columns | {"updated_at"}), batch_size=500)
        summary = {
            "run_id": str(run.pk),
            "rolled_back_at": now.isoformat().replace("+00:00", "Z"),
            "restored": sum(len(r["restored"]) for r in report),
            "left": sum(len(r["left"]) for r in report),
            "artifacts": report,
        }
        RefreshRun.objects.filter(pk=run.pk).update(rollback_report=summary)
    run.refresh_from_db()
    return summary
