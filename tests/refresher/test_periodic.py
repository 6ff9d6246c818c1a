"""Periodic jobs: due jobs run, others wait, a failing job does not stop the rest."""

import pytest

from refresher.triggers import periodic


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(periodic, "_jobs", {})
    return periodic


def test_every_job_runs_on_the_first_tick_then_waits_for_its_interval(registry):
    calls = []
    registry.periodic("fast", every=10)(lambda: calls.append("fast"))
    registry.periodic("slow", every=100)(lambda: calls.append("slow"))

    assert registry.run_due(now=1000.0) == ["fast", "slow"]
    assert registry.run_due(now=1005.0) == []
    assert registry.run_due(now=1010.0) == ["fast"]
    assert registry.run_due(now=1100.0) == ["fast", "slow"]
    assert calls == ["fast", "slow", "fast", "fast", "slow"]


def test_a_failing_job_is_logged_and_the_next_job_still_runs(registry, caplog):
    calls = []

    @registry.periodic("broken", every=1)
    def broken():
        raise RuntimeError("boom")

    registry.periodic("fine", every=1)(lambda: calls.append("fine"))

    assert registry.run_due(now=0.0) == ["broken", "fine"]
    assert calls == ["fine"]
    assert "periodic job broken failed" in caplog.text


def test_the_worker_command_is_ours():
    from django.core.management import get_commands

    assert get_commands()["db_worker"] == "refresher"
