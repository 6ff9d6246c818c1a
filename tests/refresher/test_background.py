"""Background runs: the database task backend with a real worker, leases, one run at a time."""

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from refresher.models import RefreshRun, RunStatus
from tests.conftest import client_for
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import add_skills_repo, fixture_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def upstream(github):
    add_skills_repo(github)
    return github


def make_collection(user):
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    ArtifactFactory(collection=collection, name="changelog", source="acme/skills/skills/changelog")
    return collection


def database_url() -> str:
    """The URL of the database this test runs on, for a worker in another process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_a_background_run_goes_through_the_database_queue_and_a_real_worker(
    upstream, user, settings
):
    settings.REFRESH_TASK_BACKEND = "database"
    collection = make_collection(user)
    api = client_for(user)
    response = api.post(
        f"/api/v1/collections/{collection.id}/refresh", {"background": True}, format="json"
    )
    assert response.status_code == 202
    run_id = response.json()["run_id"]
    assert RefreshRun.objects.get(pk=run_id).status == RunStatus.QUEUED

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "GITHUB_API_URL": upstream.url,
        "GITHUB_TOKEN": upstream.token,
    }
    worker = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--backend",
            "database",
            "--batch",
            "--no-startup-delay",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr[-2000:]

    polled = api.get(response["Location"]).json()
    assert polled["status"] == "completed", polled
    assert polled["summary"]["refreshed"] == 2
    assert polled["summary"]["processed"] == 2
    assert collection.artifacts.get(name="changelog").license == "Apache-2.0"


@pytest.mark.django_db
def test_a_run_whose_worker_died_is_failed_and_frees_the_collection(upstream, user):
    collection = make_collection(user)
    dead = RefreshRun.objects.create(
        collection=collection,
        status=RunStatus.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    response = client_for(user).post(f"/api/v1/collections/{collection.id}/refresh")
    assert response.status_code == 200
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED
    assert dead.error_code == "worker_lost"
    assert not dead.entries.exists()


@pytest.mark.django_db
def test_a_live_run_is_not_taken_for_dead(upstream, user):
    collection = make_collection(user)
    RefreshRun.objects.create(
        collection=collection, status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )
    response = client_for(user).post(f"/api/v1/collections/{collection.id}/refresh")
    assert response.status_code == 409


@pytest.mark.django_db
def test_the_database_allows_one_active_run_per_collection(user):
    from django.db import IntegrityError, transaction

    collection = CollectionFactory(owner=user)
    RefreshRun.objects.create(collection=collection, status=RunStatus.QUEUED)
    with pytest.raises(IntegrityError), transaction.atomic():
        RefreshRun.objects.create(collection=collection, status=RunStatus.RUNNING)
    # Finished runs do not count.
    RefreshRun.objects.create(collection=collection, status=RunStatus.COMPLETED)


@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_requests_start_exactly_one_run(github, user):
    # The first run's reads wait at the fake until every other request has been answered, so it
    # is still going when they arrive, however slowly the machine runs them.
    gate = github.hold(r".")
    github.add_repo("acme/skills", files={"skills/pdf/SKILL.md": fixture_text("skill-pdf.md")})
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    url = f"/api/v1/collections/{collection.id}/refresh"
    barrier = threading.Barrier(6)
    statuses: list[int] = []
    bodies: list[dict] = []

    def post() -> None:
        api = client_for(user)
        barrier.wait()
        try:
            response = api.post(url)
            statuses.append(response.status_code)
            bodies.append(response.json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    assert gate.wait_for(1, timeout=60), "no run reached GitHub"
    deadline = time.monotonic() + 60
    while len(statuses) < 5:
        assert time.monotonic() < deadline, f"only {len(statuses)} answers arrived"
        time.sleep(0.01)
    gate.release()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 409, 409, 409, 409, 409], bodies
    winner = next(b for b in bodies if "run_id" in b)
    for body in bodies:
        if body.get("code") == "refresh_in_progress":
            assert body["details"]["run_id"] == winner["run_id"]
    assert RefreshRun.objects.count() == 1


@pytest.mark.django_db
def test_a_queued_run_no_worker_started_expires(upstream, user, settings):
    collection = make_collection(user)
    stuck = RefreshRun.objects.create(
        collection=collection,
        status=RunStatus.QUEUED,
        heartbeat_at=timezone.now() - timedelta(seconds=settings.REFRESH_QUEUE_TIMEOUT_SECONDS + 5),
    )
    response = client_for(user).post(f"/api/v1/collections/{collection.id}/refresh")
    assert response.status_code == 200
    stuck.refresh_from_db()
    assert (stuck.status, stuck.error_code) == (RunStatus.FAILED, "not_started")
