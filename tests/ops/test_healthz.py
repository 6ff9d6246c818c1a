"""`GET /healthz`: database, worker, queue and GitHub state; only the database sets the status."""

import json
import math
from datetime import timedelta

import pytest
from django.utils import timezone

from refresher.models import RefreshRun, RunStatus, WorkerHeartbeat
from refresher.triggers.housekeeping import beat
from tests.factories import CollectionFactory
from tests.ops.procs import run_python, site_env

pytestmark = pytest.mark.django_db


def test_a_fresh_site_is_healthy_with_no_worker_seen_and_nothing_queued(client, settings):
    settings.GITHUB_TOKEN = ""
    for path in ("/healthz", "/healthz/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {
            "status": "ok",
            "database": "ok",
            "worker": None,
            "queue": None,
            "github": {
                "token": "missing",
                "api_url": settings.GITHUB_API_URL,
                "resources": {},
                "paused_until": None,
                "accounts": [],
            },
        }


def seconds_since(moment) -> float:
    """Whole seconds since `moment`, rounded up: what an age reported now may have grown by."""
    return math.ceil((timezone.now() - moment).total_seconds())


def test_worker_is_the_seconds_since_the_freshest_heartbeat(client):
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker="old:1", started_at=now, seen_at=now - timedelta(seconds=600)
    )
    WorkerHeartbeat.objects.create(
        worker="recent:2", started_at=now, seen_at=now - timedelta(seconds=90)
    )
    # The age grows only by the time that passed since `now`, however slow the machine.
    age = client.get("/healthz").json()["worker"]
    assert 90 <= age <= 90 + seconds_since(now)

    beat()  # this process, as a worker would
    beaten = timezone.now()
    assert client.get("/healthz").json()["worker"] <= seconds_since(beaten)


def test_queue_is_the_age_of_the_oldest_queued_run_only(client):
    now = timezone.now()
    waiting = RefreshRun.objects.create(collection=CollectionFactory(), status=RunStatus.QUEUED)
    RefreshRun.objects.filter(pk=waiting.pk).update(created_at=now - timedelta(seconds=120))
    newer = RefreshRun.objects.create(collection=CollectionFactory(), status=RunStatus.QUEUED)
    RefreshRun.objects.filter(pk=newer.pk).update(created_at=now - timedelta(seconds=30))
    # Running and finished runs are not waiting for a worker, however old.
    for status in (RunStatus.RUNNING, RunStatus.COMPLETED):
        run = RefreshRun.objects.create(collection=CollectionFactory(), status=status)
        RefreshRun.objects.filter(pk=run.pk).update(created_at=now - timedelta(days=3))

    body = client.get("/healthz").json()
    assert 120 <= body["queue"] <= 120 + seconds_since(now)
    # A stuck queue or a missing worker is for monitoring to judge, not a reason for a 503.
    assert body["status"] == "ok"


def test_github_says_whether_a_token_is_set_and_never_shows_it(client, settings):
    settings.GITHUB_TOKEN = "ghp_secret-token-value"
    response = client.get("/healthz")
    assert response.json()["github"]["token"] == "set"
    assert "secret-token-value" not in response.content.decode()


def test_healthz_takes_three_queries(client, django_assert_num_queries):
    # The freshest worker heartbeat, the oldest queued run, and the GitHub quota.
    with django_assert_num_queries(3):
        assert client.get("/healthz").status_code == 200


def test_an_unreachable_database_is_a_503_in_the_same_shape(tmp_path, db):
    from django.db import connection

    # A real site process whose database cannot be reached: a SQLite file in a directory that
    # does not exist, or a PostgreSQL port nobody listens on.
    if connection.vendor == "sqlite":
        url = f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite3'}"
    else:
        url = "postgres://postgres@127.0.0.1:1/nowhere"
    code = (
        "import json\n"
        "from django.test import Client\n"
        # The site's own allowed hosts: no 'testserver' there.
        "r = Client(HTTP_HOST='localhost').get('/healthz')\n"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))\n"
    )
    result = run_python(code, site_env(tmp_path, DATABASE_URL=url, GITHUB_TOKEN="t"))
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    # Nothing is known of the shared quota when the database is away; the token still is.
    github = answer["body"]["github"]
    assert (github["token"], github["resources"], github["paused_until"]) == ("set", {}, None)
    answer["body"]["github"] = {"token": github["token"]}
    assert answer == {
        "status": 503,
        "body": {
            "status": "unavailable",
            "database": "unavailable",
            "worker": None,
            "queue": None,
            "github": {"token": "set"},
        },
    }
