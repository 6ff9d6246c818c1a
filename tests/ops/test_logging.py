"""Logs: JSON lines with request and run ids, from the web process and the worker alike; and
unexpected errors reach Django's error reporting."""

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from django.core.signals import got_request_exception

from refresher.models import RefreshRun, RunStatus, WorkerHeartbeat
from skillmeat_site.logs import JsonFormatter, LogContextFilter, log_context
from tests.conftest import client_for
from tests.factories import ArtifactFactory, CollectionFactory
from tests.ops.procs import ROOT, database_url
from tests.upstream import add_skills_repo

JSON_KEYS = {"timestamp", "level", "logger", "message", "request_id", "run_id"}


def json_lines(text: str) -> list[dict]:
    """Every line parsed as JSON: a line that is not JSON fails the test."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The site's loggers written as JSON lines into a buffer, as LOG_FORMAT=json configures."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LogContextFilter())
    loggers = [logging.getLogger(name) for name in ("refresher", "skillmeat_site")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield stream
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_a_json_line_has_the_fields_and_null_ids_outside_any_context():
    formatter = JsonFormatter()
    record = logging.LogRecord("refresher.x", logging.WARNING, __file__, 1, "hi %s", ("you",), None)
    LogContextFilter().filter(record)
    line = json.loads(formatter.format(record))
    assert set(line) == JSON_KEYS
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "refresher.x", "hi you")
    assert line["request_id"] is None and line["run_id"] is None
    assert line["timestamp"].endswith("+00:00")


def test_a_traceback_stays_inside_one_json_line():
    formatter = JsonFormatter()
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.LogRecord(
            "refresher.x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    with log_context(request_id="req-1", run_id="run-1"):
        LogContextFilter().filter(record)
    text = formatter.format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert "ValueError: bad" in line["exc_info"]
    assert (line["request_id"], line["run_id"]) == ("req-1", "run-1")


def test_log_format_json_configures_the_console_handler():
    import skillmeat_site.settings as site

    assert site.LOGGING["handlers"]["console"]["formatter"] == site.LOG_FORMAT
    assert site.LOGGING["formatters"]["json"]["()"] == "skillmeat_site.logs.JsonFormatter"


@pytest.mark.django_db
def test_an_inline_refresh_logs_its_request_and_run_ids_also_from_reader_threads(
    github, user, captured
):
    add_skills_repo(github)
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")

    response = client_for(user).post(
        f"/api/v1/collections/{collection.id}/refresh", HTTP_X_REQUEST_ID="trace-web-1"
    )

    assert response.status_code == 200
    run_id = response.json()["run_id"]
    lines = json_lines(captured.getvalue())
    summary = [line for line in lines if line["message"].startswith("refresh collection=")]
    assert len(summary) == 1
    assert (summary[0]["request_id"], summary[0]["run_id"]) == ("trace-web-1", run_id)
    # The GitHub client's lines are written by the read plan's threads.
    reads = [line for line in lines if line["logger"] == "refresher.github"]
    assert reads
    assert {(line["request_id"], line["run_id"]) for line in reads} == {("trace-web-1", run_id)}


@pytest.mark.django_db
def test_an_unexpected_error_reaches_djangos_error_reporting(api, user, monkeypatch):
    from refresher import engine

    heard: list = []

    def receiver(sender, request, **kwargs):
        heard.append((request.path, sys.exc_info()[1]))

    def explode(*args, **kwargs):
        raise RuntimeError("unexpected")

    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="local", source="./here")
    monkeypatch.setattr(engine, "skipped", explode)
    got_request_exception.connect(receiver)
    api.raise_request_exception = False
    try:
        response = api.post(f"/api/v1/collections/{collection.id}/refresh")
        # An error the API answers on purpose is no exception to report.
        assert (
            api.get("/api/v1/collections/00000000-0000-0000-0000-000000000000/").status_code == 404
        )
    finally:
        got_request_exception.disconnect(receiver)

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    [(path, exc)] = heard
    assert path == f"/api/v1/collections/{collection.id}/refresh"
    assert isinstance(exc, RuntimeError)


@pytest.mark.django_db(transaction=True)
def test_the_worker_writes_json_lines_carrying_the_queued_runs_request_and_run_ids(
    github, user, settings, tmp_path
):
    add_skills_repo(github)
    settings.REFRESH_TASK_BACKEND = "database"
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    response = client_for(user).post(
        f"/api/v1/collections/{collection.id}/refresh",
        {"background": True},
        format="json",
        HTTP_X_REQUEST_ID="trace-bg-1",
    )
    assert response.status_code == 202
    run_id = response.json()["run_id"]

    (tmp_path / "empty.env").touch()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DJANGO_ENV_FILE": str(tmp_path / "empty.env"),
        "DATABASE_URL": database_url(),
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": github.token,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
    }
    log_file = tmp_path / "worker.log"
    with log_file.open("w") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--backend",
                "database",
                "--no-startup-delay",
                "--interval",
                "0.2",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                run = RefreshRun.objects.get(pk=run_id)
                seen = WorkerHeartbeat.objects.filter(worker__endswith=f":{worker.pid}").exists()
                if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING) and seen:
                    break
                assert worker.poll() is None, log_file.read_text()[-3000:]
                time.sleep(0.1)
        finally:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    output = log_file.read_text()
    assert run.status == RunStatus.COMPLETED, output[-3000:]
    assert seen, "the worker never wrote its heartbeat"
    lines = json_lines(output)
    assert all(set(line) >= JSON_KEYS for line in lines)
    about_run = [line for line in lines if line["run_id"] == run_id]
    assert any(line["message"].startswith("refresh collection=") for line in about_run)
    assert any(line["logger"] == "refresher.github" for line in about_run)
    assert {line["request_id"] for line in about_run} == {"trace-bg-1"}


@pytest.mark.django_db
def test_djangos_own_request_lines_carry_the_request_id(api, user, captured):
    # Django logs "Not Found: ..." and "Internal Server Error: ..." on django.request after the
    # middleware has returned, so the request id has to come from the request on the record.
    django_request = logging.getLogger("django.request")
    handler = logging.getLogger("refresher").handlers[-1]
    django_request.addHandler(handler)
    try:
        response = api.get(
            "/api/v1/collections/00000000-0000-0000-0000-000000000000/",
            HTTP_X_REQUEST_ID="trace-404",
        )
    finally:
        django_request.removeHandler(handler)

    assert response.status_code == 404
    lines = json_lines(captured.getvalue())
    [line] = [line for line in lines if line["logger"] == "django.request"]
    assert line["message"].startswith("Not Found:")
    assert line["request_id"] == "trace-404"
