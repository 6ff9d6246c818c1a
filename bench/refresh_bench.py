#!/usr/bin/env python
"""Refresh benchmark: what a refresh of a large collection costs in time, requests, queries, memory.

Run from the repository root::

    .venv/bin/python bench/refresh_bench.py [--artifacts 1000] [--repos 100] [--latency 0.05]
        [--concurrency 8] [--database-url postgres://postgres@127.0.0.1:5432/skillmeat_bench]

It serves N skills in R repositories from the loopback GitHub fake (fakegithub/) with a
fixed latency per request, sets up a fresh database (SQLite under var/bench/ by default, or a
scratch PostgreSQL database it creates and drops), and measures through the real engine
(`Refresher(providers=[GitHubProvider(GitHubClient(...))]).refresh(...)`):

- cold: the first refresh, nothing cached;
- warm: the same refresh again with nothing changed upstream;
- warm+10%: again after a tenth of the repositories got a commit touching every artifact in them;
- naive baselines: the same cold (and warm) refresh with concurrency 1 and the HTTP cache emptied
  before it, and optionally with every artifact read on its own (no sharing of repository, ref
  and tree reads between the artifacts of one repository).

The fake runs in a child process, so its CPU and memory do not count against the refresh, and its
request log gives the requests per endpoint kind and status. Targets (SPEC section 5 and the
"Speed at scale" issue) are checked at the end; the exit status is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phases import PhaseTimer
from scenario import (
    BENCH_DIR,
    FakeProcess,
    Layout,
    database_version,
    make_collection,
    publish,
    run_with_fake,
    setup_django,
)

# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Measurement:
    label: str
    artifacts: int
    repos: int
    concurrency: int
    plan: str = "rest"
    graphql_points: int = 0
    wall: float = 0.0
    requests: Counter[tuple[str, int]] = field(default_factory=Counter)
    unauthorized: int = 0
    conditional: int = 0
    peak_in_flight: int = 0
    queries: int = 0
    queries_unbatched: int = 0
    query_kinds: Counter[str] = field(default_factory=Counter)
    query_sequence: list[str] = field(default_factory=list)
    traced_peak_mb: float | None = None
    traced_delta_mb: float | None = None
    maxrss_mb: float = 0.0
    status: str = ""
    summary: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def billable(self) -> int:
        return sum(n for (_, status), n in self.requests.items() if status != 304)

    @property
    def rest_requests(self) -> int:
        return sum(n for (kind, _), n in self.requests.items() if kind != "graphql")

    @property
    def beyond_network(self) -> float:
        """Wall time not spent waiting on upstream: collection, evaluation, apply, the rest."""
        return self.wall - self.phases.get("network (read plan)", 0.0)

    def by_kind(self) -> str:
        kinds: dict[str, list[str]] = {}
        for (kind, status), n in sorted(self.requests.items()):
            kinds.setdefault(kind, []).append(f"{n}x{status}")
        return " ".join(f"{kind}:{'+'.join(parts)}" for kind, parts in kinds.items()) or "-"

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "plan": self.plan,
            "graphql_points": self.graphql_points,
            "beyond_network_s": round(self.beyond_network, 3),
            "artifacts": self.artifacts,
            "repos": self.repos,
            "concurrency": self.concurrency,
            "wall_s": round(self.wall, 3),
            "requests": self.total_requests,
            "billable": self.billable,
            "requests_per_artifact": round(self.total_requests / max(1, self.artifacts), 3),
            "requests_per_repo": round(self.total_requests / max(1, self.repos), 3),
            "by_kind_status": {f"{k}:{s}": n for (k, s), n in sorted(self.requests.items())},
            "unauthorized": self.unauthorized,
            "peak_in_flight": self.peak_in_flight,
            "db_queries": self.queries,
            "db_queries_batches_aside": self.queries_unbatched,
            "db_query_kinds": dict(self.query_kinds),
            "traced_peak_mb": self.traced_peak_mb,
            "traced_delta_mb": self.traced_delta_mb,
            "maxrss_mb": round(self.maxrss_mb, 1),
            "status": self.status,
            "summary": self.summary,
            "phases_s": {k: round(v, 3) for k, v in self.phases.items()},
        }


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _query_kind(sql_text: str) -> str:
    """'SELECT table', 'INSERT table', 'UPDATE table', 'BEGIN', ... for one statement."""
    words = sql_text.split(None, 40)
    upper = [w.upper() for w in words]
    verb = upper[0] if upper else "?"
    keyword = {"SELECT": "FROM", "DELETE": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE"}.get(verb)
    if keyword and keyword in upper:
        index = upper.index(keyword)
        if index + 1 < len(words):
            return f"{verb} {words[index + 1].strip('"')}"
    return verb


def batches_aside(kinds: list[str]) -> int:
    """The query count with each bulk statement counted once however many batches it took.

    Consecutive INSERTs or UPDATEs of the same table are one bulk statement in batches. (Every
    bulk write of a refresh runs inside a transaction of the engine's own, so Django never
    opens an extra one just because a statement needed several batches.)
    """
    merged: list[str] = []
    for kind in kinds:
        if merged and kind == merged[-1] and kind.startswith(("INSERT", "UPDATE")):
            continue
        merged.append(kind)
    return len(merged)


@contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
        print(f"\n-- profile of the main thread ({path}) --\n{out.getvalue()}")


def measure(
    label: str,
    fake: FakeProcess,
    run: Callable[[], Any],
    *,
    artifacts: int,
    repos: int,
    concurrency: int,
    profile: Path | None = None,
    reader: type | None = None,
    plan: str = "rest",
) -> Measurement:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from refresher.upstream.github.client import endpoint_kind

    gc.collect()
    tracing = tracemalloc.is_tracing()
    if tracing:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
    m = Measurement(label, artifacts, repos, concurrency, plan)
    points_before = fake.call("take_log")[2]
    phases = PhaseTimer()
    with (
        reader_replaced(reader),
        phases.installed(),
        CaptureQueriesContext(connection) as queries,
        profiled(profile),
    ):
        started = time.perf_counter()
        result = run()
        m.wall = time.perf_counter() - started
    if phases.missing:
        print(f"  not timed (moved or renamed?): {', '.join(phases.missing)}", flush=True)
    m.phases = dict(phases.totals)
    m.phases["other"] = m.wall - sum(phases.totals.values())
    if tracing:
        peak = tracemalloc.get_traced_memory()[1]
        m.traced_peak_mb = round(peak / 2**20, 1)
        m.traced_delta_mb = round((peak - before) / 2**20, 1)
    m.maxrss_mb = maxrss_mb()
    m.queries = len(queries.captured_queries)
    m.query_sequence = [_query_kind(q["sql"]) for q in queries.captured_queries]
    m.query_kinds = Counter(m.query_sequence)
    m.queries_unbatched = batches_aside(m.query_sequence)
    records, m.peak_in_flight, points_after = fake.call("take_log")
    m.graphql_points = points_before - points_after
    for path, status, authorized, _conditional in records:
        kind = "graphql" if path == "/graphql" else endpoint_kind(path)
        m.requests[(kind, status)] += 1
        m.unauthorized += not authorized
        m.conditional += _conditional
    if result is not None:
        m.status = result.status
        m.summary = {
            key: getattr(result, key)
            for key in ("total", "refreshed", "unchanged", "skipped", "error", "updates_available")
        }
    return m


# -- the naive reader (a baseline only) ----------------------------------------------------------


def per_artifact_reader_class() -> type:
    """An UpstreamReader that reads every artifact on its own with a throw-away cache.

    That is what a straightforward loop over the artifacts does: repository, ref, tree and blob
    for each one, nothing shared with its neighbours in the same repository.
    """
    from refresher.upstream.github.rest import UpstreamReader
    from refresher.upstream.httpcache import HttpCache

    class MemoryCache(HttpCache):
        def prefetch(self, keys: set[str]) -> None:
            return None

        def flush(self) -> int:
            return 0

    class PerArtifactReader(UpstreamReader):
        def read(self, targets: Any) -> dict[Any, Any]:
            out = {}
            for target in targets:
                one = UpstreamReader(
                    self.client, MemoryCache(), concurrency=1, on_progress=self.on_progress
                )
                out.update(one.read([target]))
            return out

    return PerArtifactReader


@contextmanager
def reader_replaced(reader_class: type | None) -> Iterator[None]:
    import refresher.upstream.github.provider

    if reader_class is None:
        yield
        return
    original = refresher.upstream.github.provider.UpstreamReader
    refresher.upstream.github.provider.UpstreamReader = reader_class  # type: ignore[misc]
    try:
        yield
    finally:
        refresher.upstream.github.provider.UpstreamReader = original  # type: ignore[misc]


# -- the benchmark -------------------------------------------------------------------------------


def clear_http_cache() -> None:
    from refresher.models import HttpCacheEntry

    HttpCacheEntry.objects.all().delete()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=1000)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per upstream answer")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--database-url",
        default="",
        help="postgres://... of a scratch database to create (and drop); default SQLite file",
    )
    parser.add_argument("--changed", type=float, default=0.10, help="share of repos changed")
    parser.add_argument(
        "--naive",
        choices=("none", "engine", "all"),
        default="all",
        help="baselines: engine = concurrency 1 and no cache (about 2.5 min at the defaults); "
        "all = also one artifact at a time (about 4 more minutes); none = skip them",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace Python allocations per refresh (doubles the wall times: CPU-bound parts "
        "run about twice as slow under tracing)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile each optimised refresh")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--plans",
        choices=("both", "rest", "graphql"),
        default="both",
        help="read plans to measure side by side (REFRESH_UPSTREAM); default both",
    )
    args = parser.parse_args(argv)

    return run_with_fake(args.database_url, args.latency, lambda fake, url: _bench(args, fake, url))


def _bench(args: argparse.Namespace, fake: FakeProcess, database_url: str) -> int:
    setup_django(database_url)
    if args.tracemalloc:
        tracemalloc.start()

    from django.contrib.auth import get_user_model

    from refresher.engine import Refresher
    from refresher.options import RefreshOptions
    from refresher.upstream.github.client import GitHubClient
    from refresher.upstream.github.governor import QuotaGovernor, QuotaState
    from refresher.upstream.github.provider import GitHubProvider
    from refresher.upstream.github.quota import DatabaseQuotaStore

    big = Layout.build(args.artifacts, args.repos, "bench")
    small = Layout.build(10, 1, "probe")
    publish(fake, big, args.seed)
    publish(fake, small, args.seed + 1)
    # A site that has refreshed before knows its token's quota: the row every process shares
    # exists (the very first run of a token creates it, three queries more, once).
    DatabaseQuotaStore(api_url=fake.url, token=fake.token).save(QuotaState())

    owner = get_user_model().objects.create_user("bench", password="not-used")
    main_collection = make_collection(owner, "bench", big)
    probe_collection = make_collection(owner, "probe-10", small)
    graphql_collection = make_collection(owner, "bench-graphql", big)
    graphql_probe = make_collection(owner, "probe-10-graphql", small)

    def client(concurrency: int) -> GitHubClient:
        # The production governor, shared through the database: its reads and writes count.
        quota = QuotaGovernor(DatabaseQuotaStore(api_url=fake.url, token=fake.token))
        return GitHubClient(
            base_url=fake.url, token=fake.token, concurrency=concurrency, quota=quota
        )

    def refresh(collection: Any, concurrency: int, plan: str = "rest") -> Callable[[], Any]:
        def go() -> Any:
            from django.conf import settings

            settings.REFRESH_UPSTREAM = plan
            provider = GitHubProvider(client(concurrency), plan=plan)
            with Refresher(providers=[provider], concurrency=concurrency) as refresher:
                return refresher.refresh(collection, RefreshOptions())

        return go

    n, r, c = args.artifacts, len(big.repos), args.concurrency
    profile_dir = BENCH_DIR if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    results: list[Measurement] = []

    def show(m: Measurement) -> None:
        print(
            f"  {m.label:<36} {m.wall:7.2f} s  {m.total_requests:5d} requests "
            f"({m.billable} billable)  {m.queries} queries",
            flush=True,
        )

    print(
        f"Benchmark: {n} skills in {r} repositories, {args.latency * 1000:.0f} ms per upstream "
        f"request, concurrency {c}, {database_version()}; process maxrss before the first "
        f"refresh {maxrss_mb():.0f} MB",
        flush=True,
    )

    # Naive baselines run first, each on its own collection with an empty HTTP cache, so the
    # optimised cold run below starts from exactly the same state.
    naive: list[Measurement] = []
    if args.naive != "none":
        naive_collection = make_collection(owner, "naive-engine", big)
        for label in ("naive cold (c=1, no cache)", "naive warm (c=1, no cache)"):
            clear_http_cache()
            m = measure(
                label, fake, refresh(naive_collection, 1), artifacts=n, repos=r, concurrency=1
            )
            naive.append(m)
            show(m)
    if args.naive == "all":
        per_artifact = make_collection(owner, "naive-per-artifact", big)
        clear_http_cache()
        m = measure(
            "naive cold (per artifact)",
            fake,
            refresh(per_artifact, 1),
            artifacts=n,
            repos=r,
            concurrency=1,
            reader=per_artifact_reader_class(),
        )
        naive.append(m)
        show(m)
    clear_http_cache()

    def optimised(
        label: str, collection: Any, artifacts: int, repos: int, tag: str, plan: str = "rest"
    ) -> Measurement:
        m = measure(
            f"{plan}: {label}",
            fake,
            refresh(collection, c, plan),
            artifacts=artifacts,
            repos=repos,
            concurrency=c,
            profile=profile_dir / f"{plan}-{tag}.prof" if profile_dir else None,
            plan=plan,
        )
        results.append(m)
        show(m)
        return m

    plans = ("rest", "graphql") if args.plans == "both" else (args.plans,)
    collections = {"rest": main_collection, "graphql": graphql_collection}
    probes = {"rest": probe_collection, "graphql": graphql_probe}
    colds, warms = {}, {}
    for plan in plans:
        colds[plan] = optimised("cold", collections[plan], n, r, "cold", plan)
        warms[plan] = optimised("warm, unchanged", collections[plan], n, r, "warm", plan)
    changed_repos = big.repos[:: max(1, round(1 / args.changed))] if args.changed > 0 else []
    rng = random.Random(args.seed + 2)
    fake.call("commit", [(repo, big.changed_files(repo, rng, 1)) for repo in changed_repos])
    for plan in plans:
        optimised(
            f"warm, {len(changed_repos)} repos changed", collections[plan], n, r, "changed", plan
        )
    probe_colds, probe_warms = {}, {}
    for plan in plans:
        probe_colds[plan] = optimised("N=10 cold", probes[plan], 10, 1, "probe-cold", plan)
        probe_warms[plan] = optimised("N=10 warm", probes[plan], 10, 1, "probe-warm", plan)
    first = plans[0]
    cold, warm = colds[first], warms[first]
    probe_cold, probe_warm = probe_colds[first], probe_warms[first]

    all_rows = naive + results
    print()
    print_table(all_rows)
    print()
    print("Where the wall time went (seconds; beyond network = wall - network):")
    for m in all_rows:
        parts = ", ".join(f"{k} {v:.2f}" for k, v in m.phases.items())
        print(f"  {m.label:<36} beyond network {m.beyond_network:.2f}: {parts}")
    print()
    print("Queries in order (xN: a bulk statement sent in N batches):")
    for m in results:
        merged: list[list[Any]] = []
        for kind in m.query_sequence:
            if merged and merged[-1][0] == kind and kind.startswith(("INSERT", "UPDATE")):
                merged[-1][1] += 1
            else:
                merged.append([kind, 1])
        text = ", ".join(f"{k}{f' x{n}' if n > 1 else ''}" for k, n in merged)
        print(f"  {m.label:<36} {text}")
    print()

    ratios = []
    if naive:
        print(
            "Naive / optimised (wall time; with the same requests, as for c=1 / cold, the ratio is"
        )
        print("bounded by the concurrency):")
        pairs = [(naive[0], cold), (naive[1], warm)]
        if len(naive) > 2:
            pairs.append((naive[2], cold))
        for slow, fast in pairs:
            ratio = slow.wall / fast.wall if fast.wall else float("inf")
            ratios.append((slow.label, fast.label, ratio))
            print(
                f"  {slow.label:<28} / {fast.label:<16} = {ratio:6.1f}x"
                f"  (requests {slow.total_requests} / {fast.total_requests},"
                f" billable {slow.billable} / {fast.billable})"
            )
        print()

    checks = []
    if "rest" in plans:
        rest_cold, rest_warm = colds["rest"], warms["rest"]
        checks += [
            ("rest cold: upstream requests per artifact <= 1.5",
             rest_cold.total_requests / n <= 1.5, f"{rest_cold.total_requests / n:.2f}"),
            ("rest cold: wall time <= 15 s", rest_cold.wall <= 15, f"{rest_cold.wall:.2f} s"),
            ("rest warm: 0 billable requests", rest_warm.billable == 0, str(rest_warm.billable)),
            ("rest warm: <= 2 requests per repository", rest_warm.total_requests <= 2 * r,
             f"{rest_warm.total_requests / r:.2f}"),
            ("rest warm: wall time <= 3 s", rest_warm.wall <= 3, f"{rest_warm.wall:.2f} s"),
        ]  # fmt: skip
    if "graphql" in plans:
        g_cold, g_warm = colds["graphql"], warms["graphql"]
        if n >= 10_000:
            checks += [
                ("graphql cold: <= 200 GraphQL points", g_cold.graphql_points <= 200,
                 str(g_cold.graphql_points)),
                ("graphql: peak RSS < 300 MB", maxrss_mb() < 300, f"{maxrss_mb():.0f} MB"),
                ("graphql warm: <= 40 requests", g_warm.total_requests <= 40,
                 str(g_warm.total_requests)),
            ]  # fmt: skip
        else:
            checks += [
                ("graphql cold: <= 25 requests", g_cold.total_requests <= 25,
                 str(g_cold.total_requests)),
                ("graphql cold: wall time <= 2.5 s", g_cold.wall <= 2.5, f"{g_cold.wall:.2f} s"),
                ("graphql warm: <= 5 requests", g_warm.total_requests <= 5,
                 str(g_warm.total_requests)),
                ("graphql warm: wall time <= 0.5 s", g_warm.wall <= 0.5, f"{g_warm.wall:.2f} s"),
                ("graphql warm: 0 REST requests", g_warm.rest_requests == 0,
                 str(g_warm.rest_requests)),
            ]  # fmt: skip
    checks += [
        (f"queries, batches aside: same at N=10 and N={n} (cold)",
         probe_cold.queries_unbatched == cold.queries_unbatched,
         f"{probe_cold.queries_unbatched} vs {cold.queries_unbatched} (raw {probe_cold.queries} vs"
         f" {cold.queries})"),
        (f"queries, batches aside: same at N=10 and N={n} (warm)",
         probe_warm.queries_unbatched == warm.queries_unbatched,
         f"{probe_warm.queries_unbatched} vs {warm.queries_unbatched} (raw {probe_warm.queries} vs"
         f" {warm.queries})"),
        # 25 before the shared GitHub quota, which adds up to five: its read at the start, its
        # reads before the waves that follow requests, and one merge-write of what the run spent.
        ("queries per refresh <= 30",
         max(m.queries for m in results) <= 30, str(max(m.queries for m in results))),
        ("every request carried the token", all(m.unauthorized == 0 for m in all_rows),
         str(sum(m.unauthorized for m in all_rows))),
        ("peak memory < 300 MB", maxrss_mb() < 300, f"maxrss {maxrss_mb():.0f} MB"),
    ]  # fmt: skip
    for slow, fast, ratio in ratios:
        if fast == "cold" and "per artifact" in slow:
            checks.append(("naive (per artifact) / optimised cold > 10x", ratio > 10,
                           f"{ratio:.1f}x"))  # fmt: skip
    print("Targets:")
    for name, ok, value in checks:
        print(f"  [{'met ' if ok else 'MISS'}] {name:<48} {value}")
    failed = [name for name, ok, _ in checks if not ok]

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "arguments": {k: str(v) for k, v in vars(args).items()},
                    "database": database_version(),
                    "measurements": [m.as_dict() for m in all_rows],
                    "ratios": [
                        {"naive": a, "optimised": b, "ratio": round(x, 2)} for a, b, x in ratios
                    ],
                    "targets": [{"target": t, "met": ok, "value": v} for t, ok, v in checks],
                },
                indent=2,
            )
            + "\n"
        )
    return 1 if failed else 0


def print_table(rows: list[Measurement]) -> None:
    header = (
        f"{'scenario':<36} {'wall s':>7} {'net s':>6} {'req':>5} {'bill':>5} {'points':>6} "
        f"{'req/art':>7} {'req/repo':>8} "
        f"{'queries':>7} {'q-batch':>7} {'traced MB':>9} {'rss MB':>6}  {'status':<9} "
        "requests by kind:count x status"
    )
    print(header)
    print("-" * len(header))
    for m in rows:
        traced = f"{m.traced_delta_mb:.1f}" if m.traced_delta_mb is not None else "-"
        per_artifact = m.total_requests / max(1, m.artifacts)
        per_repo = m.total_requests / max(1, m.repos)
        print(
            f"{m.label:<36} {m.wall:7.2f} {m.phases.get('network (read plan)', 0.0):6.2f} "
            f"{m.total_requests:5d} {m.billable:5d} {m.graphql_points:6d} "
            f"{per_artifact:7.2f} {per_repo:8.2f} {m.queries:7d} {m.queries_unbatched:7d} "
            f"{traced:>9} {m.maxrss_mb:6.0f}  {m.status:<9} {m.by_kind()}"
        )
    print(
        "net s = the read plan's wall time; points = GraphQL points spent;\n"
        "bill = requests not answered 304; q-batch = queries with each bulk statement counted once"
        " (batches aside);\ntraced MB = tracemalloc peak during the refresh above what was"
        " allocated before it (--tracemalloc); rss MB = the process's maxrss so far."
    )


if __name__ == "__main__":
    sys.exit(main())
