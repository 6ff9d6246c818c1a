"""A run's decision for one artifact, changed by the verdict on its new content (SPEC 17). Pure.

The content a verdict holds back stays in the entry's `changes` (not applied), so the entry shows
what upstream offers; `details.findings` carries what the scanner found in it.
"""

from dataclasses import replace

from refresher.changes import FieldChange
from refresher.evaluate import CONTENT, Decision
from refresher.models import EntryStatus
from refresher.review.findings import Finding
from refresher.review.gate import Verdict

CONTENT_COLUMNS = frozenset({CONTENT, "content_sha", "resolved_sha"})
# Reasons a verdict does not override: the run wrote nothing at all anyway.
KEPT_REASONS = frozenset({"dry_run", "check_only"})


def with_findings(decision: Decision, findings: list[Finding]) -> Decision:
    details = {**(decision.details or {}), "findings": findings}
    return replace(decision, details=details)


def _not_applied(change: FieldChange) -> FieldChange:
    return FieldChange(old=change["old"], new=change["new"], applied=False)


def hold_content(decision: Decision, reason: str) -> Decision:
    """Keep the stored content: the content change is reported, not applied; metadata is."""
    changes = dict(decision.changes)
    if CONTENT in changes:
        changes[CONTENT] = _not_applied(changes[CONTENT])
    updates = {k: v for k, v in decision.updates.items() if k not in CONTENT_COLUMNS}
    kept = decision.reason in KEPT_REASONS
    return replace(
        decision, changes=changes, updates=updates, reason=decision.reason if kept else reason
    )


def block(decision: Decision) -> Decision:
    """Take nothing from this version: its findings are at or above the collection's threshold.

    Its metadata is held back too: it comes from the same commit as the content in question.
    """
    return replace(
        decision,
        status=EntryStatus.SKIPPED,
        reason=Verdict.BLOCKED.value,
        changes={name: _not_applied(change) for name, change in decision.changes.items()},
        updates={},
    )


def judged(decision: Decision, verdict: Verdict, *, rejected: bool, takes: bool) -> Decision:
    """The decision once the verdict is known. `takes`: the run would write content (a sync
    that writes); `rejected`: this very content was rejected before."""
    if verdict is Verdict.TAKE:
        return decision
    if verdict is Verdict.BLOCKED:
        return block(decision) if takes else decision
    reason = "update_rejected" if rejected and verdict.proposes else verdict.value
    if not takes and CONTENT not in decision.changes:
        # A check or metadata run never writes content; it only says why it is not proposed.
        kept = decision.reason and decision.reason not in ("no_content_sha",)
        return decision if kept else replace(decision, reason=reason)
    return hold_content(decision, reason)
