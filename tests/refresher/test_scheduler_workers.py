"""The scheduler in real task workers: two `db_worker` processes on one database run a due slot
once, and slots missed while no worker ran are run once when workers start again."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from collections_app.models import Collection
from refresher.models import RefreshRun, RunStatus, Trigger
from tests.factories import ArtifactFactory, CollectionFactory
from tests.refresher.test_background import database_url
from tests.upstream import add_skills_repo

ROOT = Path(__file__).resolve().parents[2]
PASS_LINE = "scheduler pass:"


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--backend", "database", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_for(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)  # polling a condition with a deadline, not waiting blindly
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_two_workers_run_a_slot_missed_for_hours_exactly_once(github, user, tmp_path):
    add_skills_repo(github)
    collection = CollectionFactory(owner=user, refresh_schedule="@hourly")
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    # No worker ran for three hours: three hourly slots went by.
    missed = timezone.now() - timedelta(hours=3)
    Collection.objects.filter(pk=collection.pk).update(next_refresh_at=missed)

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": github.token,
        "REFRESH_TASK_BACKEND": "database",
        "LOG_LEVEL": "DEBUG",
    }
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [start_worker(env, log) for log in logs]
    try:
        # Each worker's ticker runs the scheduler at once on start; wait until both have made
        # their pass and the run one of them started has finished.
        wait_for(
            lambda: all(PASS_LINE in log.read_text() for log in logs),
            timeout=60,
            what="both workers' scheduler pass",
        )
        wait_for(
            lambda: RefreshRun.objects.filter(status=RunStatus.COMPLETED).exists(),
            timeout=60,
            what="the scheduled run to finish",
        )
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)

    runs = list(RefreshRun.objects.all())
    assert len(runs) == 1, [log.read_text()[-2000:] for log in logs]
    assert runs[0].trigger == Trigger.SCHEDULE
    assert runs[0].status == RunStatus.COMPLETED
    collection.refresh_from_db()
    # The next slot is the first one after the recovery, not one of the missed ones.
    assert collection.next_refresh_at > timezone.now()
    assert collection.next_refresh_at <= timezone.now() + timedelta(hours=1)
    started = [log.read_text().count("scheduled refresh of collection") for log in logs]
    assert sorted(started) == [0, 1]


@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_runs_the_missed_slot_once_when_it_starts_again(github, user, tmp_path):
    add_skills_repo(github)
    collection = CollectionFactory(owner=user, refresh_schedule="*/15 * * * *")
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": github.token,
        "REFRESH_TASK_BACKEND": "database",
        "LOG_LEVEL": "DEBUG",
    }
    for round_ in range(2):
        # While the worker was stopped, eight quarter-hour slots went by.
        Collection.objects.filter(pk=collection.pk).update(
            next_refresh_at=timezone.now() - timedelta(hours=2)
        )
        log = tmp_path / f"worker-{round_}.log"
        worker = start_worker(env, log)
        try:
            finished = round_ + 1
            wait_for(
                lambda n=finished: (
                    RefreshRun.objects.filter(status=RunStatus.COMPLETED).count() == n
                ),
                timeout=60,
                what="the recovered slot's run",
            )
            wait_for(lambda log=log: PASS_LINE in log.read_text(), timeout=30, what="the pass")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        assert RefreshRun.objects.filter(trigger=Trigger.SCHEDULE).count() == round_ + 1
    collection.refresh_from_db()
    assert collection.next_refresh_at > timezone.now()
