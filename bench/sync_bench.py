#!/usr/bin/env python
"""Sync benchmark: what a `sync` of a large collection costs, for comparing two versions of the
engine (e.g. before and after the review of updates, SPEC 17).

Run from the repository root::

    .venv/bin/python bench/sync_bench.py [--artifacts 1000] [--repos 100] [--latency 0.05]
        [--concurrency 8] [--plans both] [--repeat 3] [--changed 0.10]

It serves N skills in R repositories from the GitHub fake in a child process (the data and
helpers of bench/refresh_bench.py, half of the skills with a script beside SKILL.md), and
measures through the real engine, per read plan, the median of `--repeat` runs of:

- sync cold: the first sync of a fresh collection with the HTTP cache emptied: every artifact's
  content is new, so every one is read, scanned and taken;
- sync warm: the same sync again with nothing changed upstream;
- sync changed: after a tenth of the repositories got a commit changing every skill in them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.refresh_bench import (  # noqa: E402
    FakeProcess,
    Layout,
    Measurement,
    clear_http_cache,
    database_version,
    make_collection,
    measure,
    publish,
    run_with_fake,
    setup_django,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=1000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per upstream answer")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--changed", type=float, default=0.10, help="share of repos changed")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (median shown)")
    parser.add_argument("--plans", choices=("both", "rest", "graphql"), default="both")
    parser.add_argument("--database-url", default="", help="postgres://... scratch database")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    return run_with_fake(args.database_url, args.latency, lambda fake, url: _bench(args, fake, url))


def _bench(args: argparse.Namespace, fake: FakeProcess, database_url: str) -> int:
    setup_django(database_url)
    from django.contrib.auth import get_user_model

    from refresher.engine import Refresher
    from refresher.models import Mode
    from refresher.options import RefreshOptions
    from refresher.upstream.github.client import GitHubClient
    from refresher.upstream.github.governor import QuotaGovernor, QuotaState
    from refresher.upstream.github.provider import GitHubProvider
    from refresher.upstream.github.quota import DatabaseQuotaStore

    layout = Layout.build(args.artifacts, args.repos, "sync")
    publish(fake, layout, args.seed)
    DatabaseQuotaStore(api_url=fake.url, token=fake.token).save(QuotaState())
    owner = get_user_model().objects.create_user("bench", password="not-used")
    n, r, c = args.artifacts, len(layout.repos), args.concurrency

    def sync(collection: Any, plan: str) -> Callable[[], Any]:
        def go() -> Any:
            from django.conf import settings

            settings.REFRESH_UPSTREAM = plan
            quota = QuotaGovernor(DatabaseQuotaStore(api_url=fake.url, token=fake.token))
            client = GitHubClient(base_url=fake.url, token=fake.token, concurrency=c, quota=quota)
            provider = GitHubProvider(client, plan=plan)
            with Refresher(providers=[provider], concurrency=c) as refresher:
                return refresher.refresh(collection, RefreshOptions(mode=Mode.SYNC))

        return go

    print(
        f"Sync benchmark: {n} skills in {r} repositories, {args.latency * 1000:.0f} ms per "
        f"request, concurrency {c}, {database_version()}, median of {args.repeat}",
        flush=True,
    )
    plans = ("rest", "graphql") if args.plans == "both" else (args.plans,)
    changed = layout.repos[:: max(1, round(1 / args.changed))] if args.changed > 0 else []
    rng = random.Random(args.seed + 2)
    rows: list[tuple[str, list[Measurement]]] = []
    for plan in plans:
        cold, warm, moved = [], [], []
        for i in range(args.repeat):
            collection = make_collection(owner, f"sync-{plan}-{i}", layout)
            clear_http_cache()
            cold.append(
                measure(
                    "cold",
                    fake,
                    sync(collection, plan),
                    artifacts=n,
                    repos=r,
                    concurrency=c,
                    plan=plan,
                )
            )
            warm.append(
                measure(
                    "warm",
                    fake,
                    sync(collection, plan),
                    artifacts=n,
                    repos=r,
                    concurrency=c,
                    plan=plan,
                )
            )
            revision = len(rows) * args.repeat + i + 1
            fake.call(
                "commit", [(repo, layout.changed_files(repo, rng, revision)) for repo in changed]
            )
            moved.append(
                measure(
                    "changed",
                    fake,
                    sync(collection, plan),
                    artifacts=n,
                    repos=r,
                    concurrency=c,
                    plan=plan,
                )
            )
        rows += [
            (f"{plan}: sync cold", cold),
            (f"{plan}: sync warm, unchanged", warm),
            (f"{plan}: sync, {len(changed)} repos changed", moved),
        ]
    print()
    print(
        f"{'scenario':<36} {'median s':>8} {'runs s':>24} {'requests':>8} {'queries':>7}  outcome"
    )
    for label, ms in rows:
        runs = " ".join(f"{m.wall:.2f}" for m in ms)
        last = ms[-1]
        outcome = ", ".join(f"{k} {v}" for k, v in last.summary.items() if v)
        print(
            f"{label:<36} {statistics.median(m.wall for m in ms):8.2f} {runs:>24} "
            f"{last.total_requests:8d} {last.queries:7d}  {last.status}: {outcome}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
