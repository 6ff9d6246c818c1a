"""The API benchmark's site reports where each request's time went (only that site loads this).

`BenchTimingMiddleware` sits outermost in the benchmark site's middleware (api_site_settings.py)
and answers every request with:

- `Server-Timing: network;dur=512.3, select;dur=3.1, ..., total;dur=640.2` (milliseconds): the
  wall time inside each hooked function below, summed over the request, and Django's whole
  handling of it (`total`);
- `X-Bench-Queries`: the database queries the request sent.

With `BENCH_PROFILE_DIR` set in the site's environment, a request carrying
`X-Bench-Profile: <name>` is run under cProfile and its profile written to
`$BENCH_PROFILE_DIR/<name>.prof`. `BENCH_EXTRA_HOOKS` adds phases of one's own choosing
(`label=module:attribute,...`). Nothing here changes what the site answers.
"""

from __future__ import annotations

import cProfile
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from phases import Hook, PhaseTimer

# label -> where its time goes. The labels are Server-Timing metric names (tokens, no spaces).
SITE_HOOKS = (
    # Building the GitHub client and the refresher from settings (the service does it per run).
    Hook("client-setup", "refresher.service", "refresher_from_settings"),
    Hook("start", "refresher.service", "start_run"),
    Hook("select", "refresher.engine", "select_artifacts"),
    Hook("network", "refresher.engine", "Refresher._read"),
    Hook("cache-write", "refresher.upstream.httpcache", "HttpCache.flush"),
    Hook("decide", "refresher.engine", "evaluate"),
    Hook("record", "refresher.engine", "apply_decisions"),
    Hook("serialise", "collections_app.refresh_serializers", "RefreshResponseSerializer.data"),
    Hook("render", "rest_framework.renderers", "JSONRenderer.render"),
)

_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")


def extra_hooks(spec: str) -> tuple[Hook, ...]:
    """`label=module:Class.attribute,...` (BENCH_EXTRA_HOOKS): more phases, for experiments."""
    hooks = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        label, _, target = item.partition("=")
        module, _, attribute = target.partition(":")
        hooks.append(Hook(label, module, attribute))
    return tuple(hooks)


class BenchTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.timer = PhaseTimer(SITE_HOOKS + extra_hooks(os.environ.get("BENCH_EXTRA_HOOKS", "")))
        # Installed for the life of the process: the web process serves one request at a time
        # (one sync worker), so per-request totals are the totals between two resets.
        self.timer.install()
        profile_dir = os.environ.get("BENCH_PROFILE_DIR", "")
        self.profile_dir = Path(profile_dir) if profile_dir else None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.timer.totals.clear()
        queries = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        profile = self._profile_for(request)
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            if profile is None:
                response = self.get_response(request)
            else:
                response = profile[0].runcall(self.get_response, request)
        total = time.perf_counter() - started
        if profile is not None:
            profile[0].dump_stats(profile[1])
        totals = self.timer.totals.items()
        metrics = [f"{name};dur={seconds * 1000:.1f}" for name, seconds in totals]
        metrics.append(f"total;dur={total * 1000:.1f}")
        response["Server-Timing"] = ", ".join(metrics)
        response["X-Bench-Queries"] = str(queries)
        if self.timer.missing:
            response["X-Bench-Not-Timed"] = ", ".join(self.timer.missing)
        return response

    def _profile_for(self, request: HttpRequest) -> tuple[cProfile.Profile, Path] | None:
        name = request.headers.get("X-Bench-Profile", "")
        if self.profile_dir is None or not _PROFILE_NAME.match(name):
            return None
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        return cProfile.Profile(), self.profile_dir / f"{name}.prof"
