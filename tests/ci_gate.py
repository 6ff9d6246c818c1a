"""In CI, a skipped browser or Claude Code CLI test is a failure.

Those tests skip on a machine without Chromium or without the CLI, which is right for a
developer's run; but a CI run that skipped them would go green without having run them, so under
`CI` a skip of a test marked with one of these markers fails that test. tests/conftest.py
registers the hook.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

# Markers of tests CI must run, never skip.
MUST_RUN_IN_CI = ("browser", "claude_cli")


def in_ci() -> bool:
    """Whether this run is CI's (`CI` set to a true value, as CI services and .ci/run set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Turn the skip of a must-run test into a failure when the run is CI's."""
    report = yield
    if not report.skipped or hasattr(report, "wasxfail") or not in_ci():
        return report
    marker = next((m for m in MUST_RUN_IN_CI if item.get_closest_marker(m)), None)
    if marker is not None:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} was skipped ({_skip_reason(report)}), but CI must run every "
            f"`{marker}` test: install what it needs in .ci/run"
        )
    return report
