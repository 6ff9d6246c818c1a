"""One GitHub quota for every process: the governor's state in the database, seen by every run.

A run that starts while GitHub asked us to pause, or while the quota is spent, sends nothing and
ends at once (503 with Retry-After inline; a failed run in the background). A pause one run or
process meets is seen by every other, also in the middle of a run. A refused token stops a run's
reads after the first 401.
"""

import math
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from collections_app.models import Artifact
from refresher.models import GitHubQuota, RefreshRun, RunStatus
from refresher.upstream.github.governor import QuotaState, ResourceQuota
from refresher.upstream.github.quota import DatabaseQuotaStore, account_key
from tests.conftest import client_for
from tests.factories import ArtifactFactory, CollectionFactory
from tests.refresher.test_background import database_url
from tests.upstream import add_skills_repo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def collection(user, github):
    add_skills_repo(github)
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    ArtifactFactory(collection=collection, name="changelog", source="acme/skills/skills/changelog")
    return collection


def refresh_url(collection) -> str:
    return f"/api/v1/collections/{collection.id}/refresh"


def shared_row(github) -> GitHubQuota:
    return GitHubQuota.objects.get(account=account_key(github.url, github.token))


def pause_everyone(github, seconds: float) -> datetime:
    """What another process writes when it meets a secondary limit."""
    until = timezone.now() + timedelta(seconds=seconds)
    DatabaseQuotaStore(api_url=github.url, token=github.token).save(
        QuotaState(paused_until=until, pause_seconds=seconds, strikes=1)
    )
    return until


# -- the store ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_store_merges_what_processes_write_and_never_stores_the_token():
    store = DatabaseQuotaStore(api_url="https://api.github.com", token="ghp_secret")
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=20)
    store.save(QuotaState(resources={"core": ResourceQuota(5000, 4000, reset)}))
    # Another process, with an older answer for core and a fresh one for graphql.
    state = store.save(
        QuotaState(
            resources={
                "core": ResourceQuota(5000, 4500, reset),
                "graphql": ResourceQuota(5000, 4990, reset),
            }
        )
    )

    assert state.resources["core"].remaining == 4000
    assert store.load().resources == {
        "core": ResourceQuota(5000, 4000, reset),
        "graphql": ResourceQuota(5000, 4990, reset),
    }
    row = GitHubQuota.objects.get()
    assert "ghp_secret" not in str(row.__dict__)
    # Another token (or host) has a quota of its own.
    assert DatabaseQuotaStore(api_url="https://api.github.com", token="other").load() == (
        QuotaState()
    )


@pytest.mark.django_db
def test_a_later_pause_wins_and_a_success_clears_the_strikes():
    store = DatabaseQuotaStore(api_url="https://api.github.com", token="t")
    soon = timezone.now() + timedelta(seconds=60)
    later = soon + timedelta(seconds=60)
    store.save(QuotaState(paused_until=later, pause_seconds=120, strikes=2))
    state = store.save(QuotaState(paused_until=soon, pause_seconds=60, strikes=1))
    assert (state.paused_until, state.pause_seconds, state.strikes) == (later, 120, 2)

    state = store.save(QuotaState(), clear_strikes=True)
    assert state.strikes == 0 and state.paused_until == later


# -- a run that starts while paused or exhausted --------------------------------------------


@pytest.mark.django_db
def test_an_inline_refresh_while_paused_sends_nothing_and_answers_503_with_retry_after(
    collection, github, user
):
    until = pause_everyone(github, 90)
    github.reset_log()

    response = client_for(user).post(refresh_url(collection))

    assert response.status_code == 503, response.content
    body = response.json()
    assert body["code"] == "upstream_unavailable"
    assert "secondary rate limit" in body["message"]
    assert 85 <= int(response["Retry-After"]) <= 90
    assert github.requests == []
    run = RefreshRun.objects.get(pk=body["details"]["run_id"])
    assert (run.status, run.error_code) == (RunStatus.FAILED, "upstream_unavailable")
    assert not run.entries.exists()
    assert shared_row(github).paused_until == until


@pytest.mark.django_db
def test_an_inline_refresh_while_the_quota_is_spent_sends_nothing(collection, github, user):
    reset = timezone.now().replace(microsecond=0) + timedelta(minutes=10)
    DatabaseQuotaStore(api_url=github.url, token=github.token).save(
        QuotaState(resources={"core": ResourceQuota(5000, 0, reset)})
    )
    github.reset_log()

    response = client_for(user).post(refresh_url(collection))

    assert response.status_code == 503
    assert "core rate limit is exhausted" in response.json()["message"]
    assert math.isclose(int(response["Retry-After"]), 600, abs_tol=5)
    assert github.requests == []


@pytest.mark.django_db
def test_a_spent_quota_whose_window_has_reset_does_not_block(collection, github, user):
    DatabaseQuotaStore(api_url=github.url, token=github.token).save(
        QuotaState(resources={"core": ResourceQuota(5000, 0, timezone.now() - timedelta(1))})
    )
    response = client_for(user).post(refresh_url(collection))
    assert response.status_code == 200
    assert response.json()["summary"]["refreshed"] == 2


@pytest.mark.django_db
def test_a_background_run_while_paused_is_failed_with_upstream_unavailable(
    collection, github, user, django_capture_on_commit_callbacks
):
    pause_everyone(github, 120)
    github.reset_log()

    # The test settings run tasks inside enqueue(): the run is done once the commit hooks ran.
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post(
            refresh_url(collection), {"background": True}, format="json"
        )

    assert response.status_code == 202
    run = RefreshRun.objects.get(pk=response.json()["run_id"])
    assert (run.status, run.error_code) == (RunStatus.FAILED, "upstream_unavailable")
    assert "nothing was sent" in run.error_message
    assert github.requests == []


@pytest.mark.django_db
def test_a_collection_without_github_sources_is_not_blocked(github, user):
    pause_everyone(github, 120)
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="local", source="./skills/local")

    response = client_for(user).post(refresh_url(collection))

    assert response.status_code == 200
    assert response.json()["summary"]["skipped"] == 1


# -- a pause met by one run is seen by the next ---------------------------------------------


@pytest.mark.django_db
def test_a_secondary_limit_one_run_meets_stops_the_next_run_before_it_sends(
    collection, github, user
):
    github.secondary_limit(r"^/repos/acme/skills$", times=1)
    api = client_for(user)

    first = api.post(refresh_url(collection))

    assert first.status_code == 503
    assert 55 <= int(first["Retry-After"]) <= 60
    row = shared_row(github)
    assert row.paused_until is not None and row.strikes == 1
    assert 55 <= (row.paused_until - timezone.now()).total_seconds() <= 60
    sent = github.count()

    second = api.post(refresh_url(collection))

    assert second.status_code == 503
    assert "secondary rate limit" in second.json()["message"]
    assert github.count() == sent


@pytest.mark.django_db
def test_a_run_writes_the_quota_it_spent_for_healthz_and_the_next_run(collection, github, user):
    response = client_for(user).post(refresh_url(collection))

    assert response.status_code == 200
    assert response.json()["rate_limit"]["resource"] == "core"
    core = shared_row(github).resources["core"]
    assert (
        core["remaining"]
        == github.rate_limit_remaining
        == response.json()["rate_limit"]["remaining"]
    )


@pytest.mark.django_db(transaction=True)
def test_a_pause_written_during_a_run_stops_its_next_wave(collection, github, user):
    # The repository answer is slow; while it is in flight another process records a pause.
    github.delay(r"^/repos/acme/skills$", 0.6)
    api = client_for(user)
    outcome: dict[str, object] = {}

    def refresh() -> None:
        try:
            response = api.post(refresh_url(collection))
            outcome["status"], outcome["body"] = response.status_code, response.json()
        finally:
            connections.close_all()

    worker = threading.Thread(target=refresh)
    worker.start()
    deadline = time.monotonic() + 10
    while "/repos/acme/skills" not in github.in_flight_paths():
        assert time.monotonic() < deadline, "the repository request never arrived"
        time.sleep(0.01)
    pause_everyone(github, 60)
    connections.close_all()
    worker.join(timeout=30)

    assert outcome["status"] == 503, outcome
    # Only the repository was asked; the refs wave saw the pause and sent nothing.
    assert [r.path for r in github.requests] == ["/repos/acme/skills"]
    body = outcome["body"]
    assert isinstance(body, dict)
    run = RefreshRun.objects.get(pk=body["details"]["run_id"])
    assert {e.error_code or e.reason for e in run.entries.all()} == {"rate_limited"}


@pytest.mark.django_db(transaction=True)
def test_a_secondary_limit_a_worker_process_meets_stops_this_process(github, user, settings):
    """Two processes, one quota: the db_worker's run meets the limit, ours sends nothing."""
    settings.REFRESH_TASK_BACKEND = "database"
    add_skills_repo(github)
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    api = client_for(user)
    queued = api.post(refresh_url(collection), {"background": True}, format="json")
    assert queued.status_code == 202
    github.secondary_limit(r"^/repos/acme/skills$", status=429, times=1)

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": github.token,
        "REFRESH_MAX_RETRIES": "0",
        # The limit is set on a REST path; the GraphQL plan's own pauses: test_graphql_plan.
        "REFRESH_UPSTREAM": "rest",
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
    background = RefreshRun.objects.get(pk=queued.json()["run_id"])
    assert background.status == RunStatus.FAILED
    assert {e.error_code or e.reason for e in background.entries.all()} == {"rate_limited"}
    sent = github.count()
    assert sent == 1

    response = api.post(refresh_url(collection))

    assert response.status_code == 503
    assert response.json()["code"] == "upstream_unavailable"
    assert 0 < int(response["Retry-After"]) <= 60
    assert github.count() == sent  # this process sent nothing
    assert shared_row(github).strikes == 1


# -- bad credentials ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_token_stops_the_reads_after_the_first_401(github, user, settings):
    settings.GITHUB_TOKEN = "ghp_revoked"
    settings.REFRESH_CONCURRENCY = 1
    collection = CollectionFactory(owner=user)
    for i in range(5):
        github.add_repo(f"acme/repo{i}", files={"skills/a/SKILL.md": "---\nname: a\n---\n"})
        ArtifactFactory(collection=collection, name=f"a{i}", source=f"acme/repo{i}/skills/a")

    response = client_for(user).post(refresh_url(collection))

    assert response.status_code == 503
    assert response.json()["code"] == "upstream_unavailable"
    assert [r.status for r in github.requests] == [401]
    run = RefreshRun.objects.get(pk=response.json()["details"]["run_id"])
    codes = {e.error_code for e in run.entries.all()}
    assert codes == {"upstream_unauthorized"}
    assert run.entries.count() == 5
    assert not Artifact.objects.exclude(description="").exists()


@pytest.mark.django_db
def test_with_parallel_reads_a_refused_token_costs_at_most_one_401_per_worker(
    github, user, settings
):
    settings.GITHUB_TOKEN = "ghp_revoked"
    settings.REFRESH_CONCURRENCY = 2
    collection = CollectionFactory(owner=user)
    for i in range(8):
        github.add_repo(f"acme/repo{i}", files={"skills/a/SKILL.md": "---\nname: a\n---\n"})
        ArtifactFactory(collection=collection, name=f"a{i}", source=f"acme/repo{i}/skills/a")

    response = client_for(user).post(refresh_url(collection))

    assert response.status_code == 503
    assert 1 <= github.count() <= 2


# -- what operators see ---------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_shows_the_token_the_known_quota_and_a_pause(client, github, settings):
    reset = timezone.now().replace(microsecond=0) + timedelta(minutes=30)
    DatabaseQuotaStore(api_url=github.url, token=github.token).save(
        QuotaState(
            resources={
                "core": ResourceQuota(5000, 4321, reset),
                "graphql": ResourceQuota(5000, 4990, reset),
            }
        )
    )
    until = pause_everyone(github, 120)

    body = client.get("/healthz").json()

    assert body["status"] == "ok"
    zulu = "%Y-%m-%dT%H:%M:%SZ"
    assert body["github"] == {
        "token": "set",
        "api_url": github.url,
        "resources": {
            "core": {"limit": 5000, "remaining": 4321, "reset_at": reset.strftime(zulu)},
            "graphql": {"limit": 5000, "remaining": 4990, "reset_at": reset.strftime(zulu)},
        },
        "paused_until": until.strftime(zulu),
        "accounts": [],
    }
    assert github.token not in str(body)

    settings.GITHUB_TOKEN = ""
    quiet = client.get("/healthz").json()["github"]
    assert (quiet["token"], quiet["resources"], quiet["paused_until"]) == ("missing", {}, None)


@pytest.mark.django_db
def test_staff_can_see_the_shared_quota_and_lift_a_pause(client, github, staff_user, user):
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    add_skills_repo(github)
    pause_everyone(github, 600)
    row = shared_row(github)
    client.force_login(staff_user)
    staff_user.is_superuser = True
    staff_user.save()

    page = client.get("/admin/refresher/githubquota/")
    assert page.status_code == 200 and github.url in page.content.decode()
    response = client.post(
        "/admin/refresher/githubquota/",
        {"action": "lift_pause", "_selected_action": [row.pk]},
    )

    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.paused_until, row.strikes) == (None, 0)
    assert client_for(user).post(refresh_url(collection)).status_code == 200


@pytest.mark.django_db
def test_a_write_is_one_guarded_update_unless_another_process_wrote_in_between(
    django_assert_num_queries,
):
    reset = timezone.now().replace(microsecond=0) + timedelta(minutes=20)
    ours = DatabaseQuotaStore(api_url="https://api.github.com", token="t")
    theirs = DatabaseQuotaStore(api_url="https://api.github.com", token="t")
    ours.save(QuotaState(resources={"core": ResourceQuota(5000, 4000, reset)}))
    ours.load()
    theirs.load()

    with django_assert_num_queries(1):
        ours.save(QuotaState(resources={"core": ResourceQuota(5000, 3900, reset)}))

    # The other store read the row before that write: its guarded UPDATE misses, and it
    # merges under a lock instead of overwriting what it did not see.
    until = timezone.now() + timedelta(seconds=60)
    state = theirs.save(QuotaState(paused_until=until, pause_seconds=60, strikes=1))

    assert state.resources["core"].remaining == 3900
    assert state.paused_until == until
    assert ours.load() == state
