#!/usr/bin/env python
"""Admin pages at scale: what a collection's page, a run's page and their lists weigh and take.

Run from the repository root::

    .venv/bin/python bench/admin_bench.py [--sizes 1000,20000] [--repeat 3]
        [--database-url postgres://...bench]

For each size N it bulk-creates a collection of N skills and a finished run with one entry per
artifact (every entry with field changes, a tenth of them errors), in a fresh database (SQLite
under var/bench/ by default), then fetches each page through Django's test client in this
process, logged in as a superuser, with DEBUG off: the collection's page, the artifact list
filtered to the collection, the run's page and the entry list filtered to the run (where the
admin has one). It prints the median time of `--repeat` fetches, the page's size and its
queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import suppress
from typing import Any

from scenario import database_version, prepare_database, setup_django


def build(n: int, owner: Any) -> tuple[Any, Any]:
    from django.utils import timezone

    from collections_app.models import Artifact, Collection
    from refresher.models import EntryStatus, RefreshEntry, RefreshRun, RunStatus

    collection = Collection.objects.create(owner=owner, name=f"{n} skills")
    rows = []
    for i in range(n):
        artifact = Artifact(
            collection=collection,
            type="skill",
            name=f"skill-{i:05d}",
            title=f"Skill {i}",
            description="What the skill does, in a sentence or two of ordinary length. " * 2,
        )
        artifact.set_source(f"acme/skills-{i // 100:03d}/skills/skill-{i:05d}")
        rows.append(artifact)
    Artifact.objects.bulk_create(rows, batch_size=1000)
    run = RefreshRun.objects.create(
        collection=collection,
        status=RunStatus.PARTIAL,
        started_at=timezone.now(),
        total=n,
        refreshed=n - n // 10,
        error=n // 10,
    )
    RefreshEntry.objects.bulk_create(
        (
            RefreshEntry(
                run=run,
                artifact=artifact,
                artifact_key=f"skill:{artifact.name}",
                status=EntryStatus.ERROR if i % 10 == 0 else EntryStatus.REFRESHED,
                error_code="upstream_not_found" if i % 10 == 0 else "",
                changes={
                    "description": {"old": "", "new": artifact.description, "applied": True},
                    "topics": {"old": [], "new": ["pdf", "docs"], "applied": True},
                },
            )
            for i, artifact in enumerate(rows)
        ),
        batch_size=1000,
    )
    return collection, run


def pages(collection: Any, run: Any) -> dict[str, str]:
    from django.urls import NoReverseMatch, reverse

    out = {
        "collection page": reverse("admin:collections_app_collection_change", args=[collection.pk]),
        "artifact list (collection)": reverse("admin:collections_app_artifact_changelist")
        + f"?collection__id__exact={collection.pk}",
        "run page": reverse("admin:refresher_refreshrun_change", args=[run.pk]),
    }
    with suppress(NoReverseMatch):  # an admin without the entry list has no such page
        out["entry list (run)"] = (
            reverse("admin:refresher_refreshentry_changelist") + f"?run={run.pk}"
        )
    return out


def fetch(client: Any, url: str, repeat: int) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, size, queries = [], 0, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            content = response.content
            times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        size, queries = len(content), len(captured)
    return statistics.median(times), size, queries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,20000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)

    database_url, drop_database = prepare_database(args.database_url, sqlite_name="admin.sqlite3")
    os.environ["DJANGO_DEBUG"] = "false"
    try:
        setup_django(database_url)
        from django.contrib.auth import get_user_model
        from django.test import Client

        owner = get_user_model().objects.create_superuser("bench", password="not-used")
        client = Client(HTTP_HOST="localhost")  # a host the default ALLOWED_HOSTS holds
        client.force_login(owner)
        print(f"Admin pages, {database_version()}, load average {os.getloadavg()[0]:.2f}")
        print(f"{'artifacts':>9}  {'page':<28} {'median s':>8} {'KB':>8} {'queries':>7}")
        for n in (int(text) for text in args.sizes.split(",")):
            collection, run = build(n, owner)
            for name, url in pages(collection, run).items():
                seconds, size, queries = fetch(client, url, args.repeat)
                print(f"{n:>9}  {name:<28} {seconds:8.3f} {size / 1024:8.1f} {queries:7d}")
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
    finally:
        from django.db import connections

        connections.close_all()
        drop_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
