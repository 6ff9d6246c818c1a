"""Whether a run takes the new content it found for one artifact (SPEC 17). Pure.

In order: an approval takes the commit that was reviewed, unless its findings are held back; a
commit younger than the collection's cooldown is neither taken nor proposed (`too_new`); content
found by a scheduled or push run of a collection that reviews updates waits for approval
(`awaiting_review`); content with findings at or above `block_findings` is held back unless the
request accepts them (`blocked_by_findings`). Everything else is taken.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from refresher.review.findings import Finding, at_or_above


class Verdict(StrEnum):
    """What becomes of new content; the values are the entry reasons that say so."""

    TAKE = ""
    TOO_NEW = "too_new"
    AWAIT_REVIEW = "awaiting_review"
    BLOCKED = "blocked_by_findings"

    @property
    def proposes(self) -> bool:
        """Whether content not taken goes on the pending-updates list (a too-new one does not)."""
        return self is not Verdict.TOO_NEW


@dataclass(frozen=True, slots=True)
class Policy:
    """What a run's collection and request say about taking new content."""

    review: bool = False  # `review_updates`, for a run nobody asked for (schedule, push)
    min_age: timedelta = timedelta(0)
    block: str = "none"  # `block_findings`: high, medium or none
    accept_findings: bool = False

    @property
    def needs_dates(self) -> bool:
        return self.min_age > timedelta(0)


def verdict(
    policy: Policy,
    *,
    approved: bool,
    committed_at: datetime | None,
    findings: Sequence[Finding],
    now: datetime,
) -> Verdict:
    """The verdict on one artifact's new content.

    A commit whose date could not be read counts as too new while a cooldown is set: what cannot
    be shown to be old enough is not taken.
    """
    if not approved:
        if policy.needs_dates and (committed_at is None or now - committed_at < policy.min_age):
            return Verdict.TOO_NEW
        if policy.review:
            return Verdict.AWAIT_REVIEW
    if not policy.accept_findings and at_or_above(list(findings), policy.block):
        return Verdict.BLOCKED
    return Verdict.TAKE
