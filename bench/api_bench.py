#!/usr/bin/env python
"""API refresh benchmark: what a client of the real site waits for `POST .../refresh`.

Run from the repository root::

    .venv/bin/python bench/api_bench.py [--sizes 200/20,1000/100] [--plans both] [--repeat 3]
        [--latency 0.05] [--database-url postgres://...bench] [--profile] [--json PATH]

It serves the skills of `refresh_bench.py` (the same generator, `scenario.py`) from the loopback
GitHub fake in a child process with a fixed latency per answer, prepares a fresh database
(SQLite under var/bench/ by default), then for each read plan starts the site itself: gunicorn
with one sync worker, `DEBUG` off, `REFRESH_UPSTREAM=<plan>`, pointed at the fake with a token.
A client in this process then sends `POST /api/v1/collections/{id}/refresh` (body `{}`, token
auth) and times it until the whole response is read:

- first call: a web process's first refresh (10 skills in 1 repository, cold), and a second one
  just like it; the difference is what the first call sets up;
- cold: a collection nothing was read for (its repositories are new to the fake's cache too);
- warm: the same collection again, nothing changed upstream.

Each size is measured `--repeat` times, each time on repositories of its own (so no cache of the
site, in memory or in the database, knows a cold run's files), and the median is reported with
the load average of the machine. The site's sizes go past REFRESH_SYNC_MAX_ARTIFACTS (default
200, above which a refresh goes to the background), so the benchmark's site runs with
REFRESH_SYNC_MAX_ARTIFACTS set to the largest size: every refresh is answered inline, with 200.

The site runs with a timing middleware of the benchmark's own (api_site_timing.py, loaded only by
api_site_settings.py) that reports in a Server-Timing header where the request's time went
(client set-up, network, select, decide, record, HTTP cache write, serialise, render) and how many
queries it sent. `--profile` adds one more cold and warm refresh per size, run under cProfile in
the web process, and prints the top of each profile (written to var/bench/api-profiles/).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pstats
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenario import (
    BENCH_DIR,
    ROOT,
    TOKEN,
    FakeProcess,
    Layout,
    database_version,
    make_collection,
    publish,
    run_with_fake,
    setup_django,
)

PROFILE_DIR = BENCH_DIR / "api-profiles"
# The order of the breakdown's columns: Server-Timing labels of api_site_timing.SITE_HOOKS.
PHASES = (
    "client-setup",
    "start",
    "select",
    "network",
    "cache-write",
    "decide",
    "record",
    "serialise",
    "render",
)
# Targets through the API (GraphQL plan): (artifacts, scenario) -> seconds.
TARGETS = {
    (200, "cold"): 1.0,
    (200, "warm"): 0.25,
    (1000, "cold"): 2.5,
    (1000, "warm"): 0.5,
}


@dataclass
class Sample:
    """One refresh as the client saw it, and as the site reported it."""

    wall: float
    status: int
    body_bytes: int
    server: dict[str, float]  # Server-Timing label -> seconds
    queries: int
    upstream_requests: int
    load: float
    outcome: str

    @property
    def server_total(self) -> float:
        return self.server.get("total", 0.0)

    @property
    def server_other(self) -> float:
        """Django's time outside the hooked phases: routing, auth, throttle, the view's reads."""
        return self.server_total - sum(self.server.get(p, 0.0) for p in PHASES)


@dataclass
class Row:
    plan: str
    label: str
    artifacts: int
    samples: list[Sample] = field(default_factory=list)

    def median(self, value: Any) -> float:
        return statistics.median(value(s) for s in self.samples)

    @property
    def key(self) -> tuple[int, str]:
        return self.artifacts, self.label.split()[-1]


# -- the site ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    """The real site under gunicorn (one sync worker), started and stopped by its process id."""

    def __init__(self, *, plan: str, database_url: str, fake_url: str, sync_max: int) -> None:
        self.plan = plan
        self.port = free_port()
        self.log = BENCH_DIR / f"api-site-{plan}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "api_site_settings",
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "GITHUB_API_URL": fake_url,
            "GITHUB_TOKEN": TOKEN,
            "REFRESH_UPSTREAM": plan,
            "REFRESH_SYNC_MAX_ARTIFACTS": str(sync_max),
            "REFRESH_THROTTLE_RATE": "100000/min",
            "LOG_LEVEL": "WARNING",
            "BENCH_PROFILE_DIR": str(PROFILE_DIR),
        }
        command = [
            sys.executable, "-m", "gunicorn", "skillmeat_site.wsgi:application",
            "--workers", "1", "--bind", f"127.0.0.1:{self.port}", "--timeout", "300",
            "--chdir", str(ROOT), "--pythonpath", str(ROOT / "bench"),
            "--error-logfile", str(self.log),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)

    def wait_ready(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the site exited ({self.process.returncode}); see {self.log}")
            try:
                status, _, _ = self.send("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the site did not answer /healthz within {seconds:.0f} s; see {self.log}")

    def send(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@contextmanager
def running_site(**kwargs: Any) -> Iterator[Site]:
    site = Site(**kwargs)
    try:
        site.wait_ready()
        yield site
    finally:
        site.stop()


def server_timing(header: str) -> dict[str, float]:
    """`a;dur=1.5, b;dur=2` -> {"a": 0.0015, "b": 0.002} (seconds)."""
    out: dict[str, float] = {}
    for metric in filter(None, (part.strip() for part in header.split(","))):
        name, _, rest = metric.partition(";")
        if rest.startswith("dur="):
            out[name] = float(rest[4:]) / 1000
    return out


def refresh(
    site: Site, fake: FakeProcess, collection_id: Any, *, expect: str, profile: str = ""
) -> Sample:
    """POST a refresh of the collection and time it until the last byte of the answer."""
    fake.call("take_log")  # forget earlier requests
    headers = {"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"}
    if profile:
        headers["X-Bench-Profile"] = profile
    started = time.perf_counter()
    status, answer, body = site.send(
        "POST", f"/api/v1/collections/{collection_id}/refresh", body=b"{}", headers=headers
    )
    wall = time.perf_counter() - started
    records = fake.call("take_log")[0]
    if answer.get("X-Bench-Not-Timed"):
        print(f"  not timed (moved or renamed?): {answer['X-Bench-Not-Timed']}", flush=True)
    return Sample(
        wall=wall,
        status=status,
        body_bytes=len(body),
        server=server_timing(answer.get("Server-Timing", "")),
        queries=int(answer.get("X-Bench-Queries", "0")),
        upstream_requests=len(records),
        load=os.getloadavg()[0],
        outcome=_outcome(status, body, expect),
    )


def _outcome(status: int, body: bytes, expect: str) -> str:
    """ "ok" when the run did what the scenario expects, else what went wrong (printed)."""
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    run = json.loads(body)
    summary = run["summary"]
    wanted = summary["refreshed" if expect == "refreshed" else "unchanged"]
    if run["status"] != "completed" or wanted != summary["total"]:
        return f"{run['status']}: {summary}"
    return "ok"


# -- the benchmark -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    artifacts: int
    repos: int

    @classmethod
    def parse(cls, text: str) -> Size:
        artifacts, _, repos = text.partition("/")
        return cls(int(artifacts), int(repos or 1))


@dataclass
class Upstream:
    """What the fake serves: per size, one layout per repetition; and the two first-call probes."""

    copies: dict[Size, list[Layout]]
    probes: tuple[Layout, Layout]


def publish_all(fake: FakeProcess, sizes: list[Size], copies: int, seed: int) -> Upstream:
    layouts: dict[Size, list[Layout]] = {}
    for size in sizes:
        layouts[size] = [
            Layout.build(size.artifacts, size.repos, f"api{size.artifacts}c{i}")
            for i in range(copies)
        ]
    probes = (Layout.build(10, 1, "first-a"), Layout.build(10, 1, "first-b"))
    everything = [*probes, *(layout for group in layouts.values() for layout in group)]
    for offset, layout in enumerate(everything):
        publish(fake, layout, seed + offset)
    return Upstream(layouts, probes)


def measure_plan(
    plan: str, site: Site, fake: FakeProcess, upstream: Upstream, owner: Any, profile: bool
) -> list[Row]:
    """First calls, then cold and warm per size and repetition, on collections of this plan."""
    rows = []
    first = Row(plan, "first call (10, cold)", 10)
    second = Row(plan, "second call (10, cold)", 10)
    for row, layout in zip((first, second), upstream.probes, strict=True):
        collection = make_collection(owner, f"{plan}-{layout.repos[0]}", layout)
        row.samples.append(refresh(site, fake, collection.pk, expect="refreshed"))
        show(row)
    rows += [first, second]
    for size, layouts in upstream.copies.items():
        cold = Row(plan, f"{size.artifacts}/{size.repos} cold", size.artifacts)
        warm = Row(plan, f"{size.artifacts}/{size.repos} warm", size.artifacts)
        for i, layout in enumerate(layouts):
            collection = make_collection(owner, f"{plan}-{size.artifacts}-{i}", layout)
            # The extra copy --profile adds is profiled, and kept out of the timings.
            profiled = profile and i == len(layouts) - 1
            tag = f"{plan}-{size.artifacts}" if profiled else ""
            for row, expect in ((cold, "refreshed"), (warm, "unchanged")):
                name = f"{tag}-{row.key[1]}" if tag else ""
                sample = refresh(site, fake, collection.pk, expect=expect, profile=name)
                if not profiled:
                    row.samples.append(sample)
        show(cold)
        show(warm)
        rows += [cold, warm]
    return rows


def show(row: Row) -> None:
    walls = ", ".join(f"{s.wall:.3f}" for s in row.samples)
    failed = [s.outcome for s in row.samples if s.outcome != "ok"]
    note = f"  NOT OK: {failed[0]}" if failed else ""
    print(f"  {row.plan:<8} {row.label:<24} {walls} s  (load {row.samples[-1].load:.2f}){note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200/20,1000/100", help="artifacts/repositories, ...")
    parser.add_argument("--plans", choices=("both", "rest", "graphql"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per scenario")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per upstream answer")
    parser.add_argument("--database-url", default="", help="postgres://... scratch database")
    parser.add_argument("--profile", action="store_true", help="cProfile one more run each")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    return run_with_fake(
        args.database_url,
        args.latency,
        lambda fake, url: _bench(args, fake, url),
        sqlite_name="api.sqlite3",
    )


def _bench(args: argparse.Namespace, fake: FakeProcess, database_url: str) -> int:
    setup_django(database_url)
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from refresher.models import HttpCacheEntry
    from refresher.upstream.github.governor import QuotaState
    from refresher.upstream.github.quota import DatabaseQuotaStore

    sizes = [Size.parse(text) for text in args.sizes.split(",")]
    copies = args.repeat + (1 if args.profile else 0)
    started = time.perf_counter()
    upstream = publish_all(fake, sizes, copies, args.seed)
    owner = get_user_model().objects.create_user("bench", password="not-used")
    Token.objects.create(user=owner, key=TOKEN)
    print(
        f"API benchmark: sizes {args.sizes}, {args.latency * 1000:.0f} ms per upstream request, "
        f"{args.repeat} measurements each, {database_version()}; the site: gunicorn, 1 sync "
        f"worker, DEBUG off, REFRESH_SYNC_MAX_ARTIFACTS={max(s.artifacts for s in sizes)} "
        f"(data published in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    plans = ("rest", "graphql") if args.plans == "both" else (args.plans,)
    rows: list[Row] = []
    for plan in plans:
        # Each plan starts as a site that has read nothing yet, but knows its token's quota
        # (the very first run of a token creates that row, three queries more, once).
        HttpCacheEntry.objects.all().delete()
        DatabaseQuotaStore(api_url=fake.url, token=TOKEN).save(QuotaState())
        site_args = {"database_url": database_url, "fake_url": fake.url}
        sync_max = max(s.artifacts for s in sizes)
        with running_site(plan=plan, sync_max=sync_max, **site_args) as site:
            rows += measure_plan(plan, site, fake, upstream, owner, args.profile)
    print()
    print_table(rows)
    print()
    print_breakdown(rows)
    if args.profile:
        print_profiles(plans, sizes)
    failed = check_targets(rows)
    if args.json:
        write_json(args.json, args, rows)
    return 1 if failed else 0


# -- reporting -----------------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'plan':<8} {'scenario':<24} {'wall s':>7} {'min-max':>13} {'server':>7} "
        f"{'outside':>7} {'upstream':>8} {'queries':>7} {'body KB':>7} {'load':>5}"
    )
    print(f"Through the HTTP API (median of {max(len(r.samples) for r in rows)} where repeated):")
    print(header)
    print("-" * len(header))
    for row in rows:
        walls = [s.wall for s in row.samples]
        print(
            f"{row.plan:<8} {row.label:<24} {row.median(lambda s: s.wall):7.3f} "
            f"{min(walls):6.3f}-{max(walls):6.3f} {row.median(lambda s: s.server_total):7.3f} "
            f"{row.median(lambda s: s.wall - s.server_total):7.3f} "
            f"{row.median(lambda s: s.upstream_requests):8.0f} "
            f"{row.median(lambda s: s.queries):7.0f} "
            f"{row.median(lambda s: s.body_bytes) / 1024:7.1f} {row.median(lambda s: s.load):5.2f}"
        )
    print(
        "wall = what the client waited, request sent to last byte read; server = Django's whole\n"
        "handling (the timing middleware, outermost); outside = wall - server (gunicorn, HTTP,\n"
        "the client); upstream = requests the fake answered; load = 1-minute load average."
    )


def print_breakdown(rows: list[Row]) -> None:
    columns = [*PHASES, "other", "outside"]
    print("Where the time went (milliseconds, medians; other = Django outside the phases):")
    # Phases of BENCH_EXTRA_HOOKS (experiments) get columns of their own at the end; they are
    # not subtracted from "other", since they may lie inside the standard phases.
    extra = sorted(
        {name for r in rows for s in r.samples for name in s.server} - {*PHASES, "total"}
    )
    columns += extra
    print(f"{'plan':<8} {'scenario':<24} " + " ".join(f"{c:>12}" for c in columns))
    for row in rows:
        values = [row.median(lambda s, p=p: s.server.get(p, 0.0)) for p in PHASES]
        values.append(row.median(lambda s: s.server_other))
        values.append(row.median(lambda s: s.wall - s.server_total))
        values += [row.median(lambda s, p=p: s.server.get(p, 0.0)) for p in extra]
        print(f"{row.plan:<8} {row.label:<24} " + " ".join(f"{v * 1000:12.1f}" for v in values))
    by_plan: dict[str, dict[str, Row]] = {}
    for row in rows:
        by_plan.setdefault(row.plan, {})[row.label] = row
    print()
    for plan, named in by_plan.items():
        first, second = named["first call (10, cold)"], named["second call (10, cold)"]
        extra = {
            p: first.samples[0].server.get(p, 0.0) - second.samples[0].server.get(p, 0.0)
            for p in (*PHASES, "total")
        }
        parts = ", ".join(f"{p} {v * 1000:+.0f}" for p, v in extra.items() if abs(v) >= 0.005)
        wall = first.samples[0].wall - second.samples[0].wall
        print(f"first-call set-up ({plan}): {wall * 1000:+.0f} ms at the client; by phase: {parts}")


def print_profiles(plans: tuple[str, ...], sizes: list[Size]) -> None:
    for plan in plans:
        for size in sizes:
            for scenario in ("cold", "warm"):
                path = PROFILE_DIR / f"{plan}-{size.artifacts}-{scenario}.prof"
                if not path.exists():
                    print(f"(no profile at {path})")
                    continue
                print(f"\n-- web process profile: {plan} {size.artifacts} {scenario} ({path})")
                stats = pstats.Stats(str(path))
                stats.sort_stats("cumulative").print_stats(30)
                stats.sort_stats("tottime").print_stats(15)


def check_targets(rows: list[Row]) -> list[str]:
    print("\nTargets (GraphQL plan, through the API):")
    failed = []
    for row in rows:
        limit = TARGETS.get(row.key)
        if row.plan != "graphql" or limit is None:
            continue
        value = row.median(lambda s: s.wall)
        ok = value <= limit and all(s.outcome == "ok" for s in row.samples)
        name = f"{row.label}: <= {limit} s"
        load = row.samples[-1].load
        print(f"  [{'met ' if ok else 'MISS'}] {name:<28} {value:.3f} s (load {load:.2f})")
        if not ok:
            failed.append(name)
    return failed


def write_json(path: Path, args: argparse.Namespace, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "database": database_version(),
        "rows": [
            {
                "plan": row.plan,
                "scenario": row.label,
                "artifacts": row.artifacts,
                "samples": [vars(s) for s in row.samples],
            }
            for row in rows
        ],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
