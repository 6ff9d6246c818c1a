"""The gate deciding whether new content is taken (refresher.review.gate), case by case."""

from datetime import UTC, datetime, timedelta

import pytest

from refresher.review.findings import Finding
from refresher.review.gate import Policy, Verdict, verdict

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HIGH: Finding = {"code": "hook_command", "severity": "high", "path": "h", "line": 1, "message": ""}
MEDIUM: Finding = {
    "code": "tools_widened",
    "severity": "medium",
    "path": "s",
    "line": 3,
    "message": "",
}


def decide(policy: Policy, *, approved=False, age=timedelta(days=30), findings=()) -> Verdict:
    committed = None if age is None else NOW - age
    return verdict(policy, approved=approved, committed_at=committed, findings=findings, now=NOW)


def test_without_review_settings_content_is_taken_whatever_its_findings():
    assert decide(Policy(), findings=[HIGH]) is Verdict.TAKE
    assert Verdict.TAKE.value == ""


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(hours=23, minutes=59), Verdict.TOO_NEW),
        (timedelta(hours=24), Verdict.TAKE),
        (timedelta(days=9), Verdict.TAKE),
        (None, Verdict.TOO_NEW),  # a date that could not be read is not old enough
        (-timedelta(hours=1), Verdict.TOO_NEW),  # a committer clock in the future
    ],
)
def test_the_cooldown_holds_commits_younger_than_the_setting(age, expected):
    assert decide(Policy(min_age=timedelta(hours=24)), age=age) is expected


def test_without_a_cooldown_the_date_is_not_needed():
    assert not Policy().needs_dates
    assert decide(Policy(), age=None) is Verdict.TAKE


def test_review_holds_what_is_old_enough_and_the_cooldown_comes_first():
    policy = Policy(review=True, min_age=timedelta(hours=1))
    assert decide(policy) is Verdict.AWAIT_REVIEW
    assert decide(policy, age=timedelta(minutes=5)) is Verdict.TOO_NEW
    assert Verdict.AWAIT_REVIEW.proposes and not Verdict.TOO_NEW.proposes


@pytest.mark.parametrize(
    ("block", "findings", "expected"),
    [
        ("high", [HIGH], Verdict.BLOCKED),
        ("high", [MEDIUM], Verdict.TAKE),
        ("medium", [MEDIUM], Verdict.BLOCKED),
        ("medium", [], Verdict.TAKE),
        ("none", [HIGH, MEDIUM], Verdict.TAKE),
    ],
)
def test_findings_at_or_above_the_threshold_hold_content_back(block, findings, expected):
    assert decide(Policy(block=block), findings=findings) is expected


def test_accepting_findings_takes_what_they_would_block():
    assert decide(Policy(block="medium", accept_findings=True), findings=[HIGH]) is Verdict.TAKE


def test_an_approval_skips_review_and_cooldown_but_not_the_findings_threshold():
    policy = Policy(review=True, min_age=timedelta(days=7), block="high")
    assert decide(policy, approved=True, age=timedelta(minutes=1)) is Verdict.TAKE
    assert decide(policy, approved=True, findings=[HIGH]) is Verdict.BLOCKED
    accepting = Policy(review=True, block="high", accept_findings=True)
    assert decide(accepting, approved=True, findings=[HIGH]) is Verdict.TAKE
