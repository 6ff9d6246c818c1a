#!/usr/bin/env python
"""Push webhook benchmark: how long `POST /api/v1/webhooks/github` takes to answer GitHub.

Run from the repository root::

    .venv/bin/python bench/webhook_bench.py [--collections 50] [--artifacts 200]
        [--database-url postgres://postgres@127.0.0.1:5432/skillmeat_bench_webhook]

It builds a fresh database (SQLite under var/bench/ by default; a PostgreSQL URL is used as is
and its tables are flushed) with C collections that refresh on push, each holding A skills of
one repository, then delivers signed pushes through Django's test client (the whole request
path: middleware, signature, matching, one queued run per collection) and reports the answer
time and query count. GitHub waits 10 s for an answer; nothing is read from GitHub inline.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "bench-secret"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", type=int, default=50)
    parser.add_argument("--artifacts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    bench_dir = ROOT / "var" / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    db = bench_dir / "webhook.sqlite3"
    if not args.database_url:
        db.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{db}"
    os.environ["GITHUB_WEBHOOK_SECRET"] = SECRET
    # A production-like site: DEBUG off, so it needs a key; a random one per run.
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["DJANGO_SETTINGS_MODULE"] = "skillmeat_site.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # Runs are queued in a backend that keeps them: the answer, not the refresh, is measured.
    settings.TASKS["bench"] = {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}
    settings.REFRESH_TASK_BACKEND = "bench"
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)

    from django.contrib.auth import get_user_model

    from collections_app.models import Artifact, Collection
    from refresher.models import RefreshRun

    owner = get_user_model().objects.create(username="bench")
    for c in range(args.collections):
        collection = Collection.objects.create(owner=owner, name=f"c{c}", refresh_on_push=True)
        Artifact.objects.bulk_create(
            Artifact(
                collection=collection,
                type="skill",
                name=f"skill-{i:04d}",
                source=f"acme/skills/skills/skill-{i:04d}",
                source_kind="github",
                upstream_owner="acme",
                upstream_repo="skills",
                upstream_path=f"skills/skill-{i:04d}",
            )
            for i in range(args.artifacts)
        )

    def push(commits: list[dict]) -> bytes:
        return json.dumps(
            {
                "ref": "refs/heads/main",
                "repository": {"full_name": "acme/skills", "default_branch": "main"},
                "commits": commits,
            }
        ).encode()

    one_file = push([{"added": [], "removed": [], "modified": ["skills/skill-0007/SKILL.md"]}])
    capped = push([{"added": [], "removed": [], "modified": ["README.md"]}] * 20)
    client = Client(HTTP_HOST="localhost")  # a host the default ALLOWED_HOSTS holds
    print(
        f"{args.collections} collections x {args.artifacts} artifacts, "
        f"{connection.vendor}, {args.repeat} deliveries each"
    )
    for label, body in [("one file touched", one_file), ("20 commits (all)", capped)]:
        times, queries = [], 0
        for _ in range(args.repeat):
            RefreshRun.objects.all().delete()
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/webhooks/github",
                    body,
                    content_type="application/json",
                    HTTP_X_GITHUB_EVENT="push",
                    HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
                    HTTP_X_HUB_SIGNATURE_256=signature,
                )
                times.append(time.perf_counter() - started)
            assert response.status_code == 202, response.content
            assert len(response.json()["runs"]) == args.collections
            queries = len(captured)
        print(
            f"  {label:18s} median {statistics.median(times) * 1000:7.1f} ms, "
            f"max {max(times) * 1000:7.1f} ms, {queries} queries"
        )


if __name__ == "__main__":
    main()
