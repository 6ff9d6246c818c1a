"""The CI gate (tests/ci_gate.py): under CI a skipped browser or CLI test fails the run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TESTS = """
import pytest

@pytest.mark.browser
def test_browser():
    pytest.skip("Chromium not installed")

@pytest.mark.claude_cli
def test_cli():
    pytest.skip("no claude on PATH")

def test_ordinary_skip():
    pytest.skip("not here")

@pytest.mark.browser
@pytest.mark.xfail(reason="known")
def test_expected_failure():
    raise AssertionError

@pytest.mark.browser
def test_browser_that_runs():
    pass
"""


def run_tiny_suite(tmp_path: Path, *, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text("from tests.ci_gate import pytest_runtest_makereport\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    browser: b\n    claude_cli: c\n")
    (tmp_path / "test_tiny.py").write_text(TESTS)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-p", "no:django"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("ci", ["true"])
def test_in_ci_a_skipped_browser_or_cli_test_fails_the_run(tmp_path, ci):
    result = run_tiny_suite(tmp_path, ci=ci)
    assert result.returncode == 1, result.stdout
    assert "FAILED test_tiny.py::test_browser" in result.stdout
    assert "FAILED test_tiny.py::test_cli" in result.stdout
    assert "but CI must run every `browser` test" in result.stdout
    assert "Chromium not installed" in result.stdout
    # Other skips and expected failures stay what they are.
    assert "SKIPPED [1] test_tiny.py" in result.stdout and "not here" in result.stdout
    assert "XFAIL test_tiny.py::test_expected_failure" in result.stdout
    assert "2 failed, 1 passed, 1 skipped, 1 xfailed" in result.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_outside_ci_the_same_skips_are_skips(tmp_path, ci):
    result = run_tiny_suite(tmp_path, ci=ci)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 3 skipped, 1 xfailed" in result.stdout
