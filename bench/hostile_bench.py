#!/usr/bin/env python
"""Hostile manifest benchmark: how long the manifest bombs of SPEC 18 keep a process busy.

Run from the repository root::

    .venv/bin/python bench/hostile_bench.py [--repeat 3]

For each manifest built to keep `tomllib` busy it prints the time `tomllib.loads` alone takes
on it (what an import cost before the raw text was bounded; capped by --max-seconds so the run
ends) and the time the import's check (`bound_problem`) takes to refuse it, best of --repeat.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collections_app.manifest.bounds import bound_problem  # noqa: E402

MIB = 1024 * 1024
BOMBS: dict[str, Callable[[], str]] = {
    "dotted key, 40,000 parts (80 KB)": lambda: "x" + ".a" * 40_000 + " = 1\n",
    "dotted table header, 40,000 parts": lambda: "[" + "a." * 40_000 + "a]\n",
    "300,000 keys (3.5 MB)": lambda: "".join(f"k{i} = 1\n" for i in range(300_000)),
    "array of 2.6 million integers (5 MiB)": lambda: "x = [" + "1," * (5 * MIB // 2 - 4) + "]",
    "5 MiB of nested brackets": lambda: "x = " + "[" * (5 * MIB // 2) + "]" * (5 * MIB // 2),
}


def _parse(text: str) -> None:
    with contextlib.suppress(tomllib.TOMLDecodeError, RecursionError):
        tomllib.loads(text)


def parse_seconds(text: str, cap: float) -> float | None:
    """Seconds `tomllib` takes, in a child process stopped after `cap` (None: still going)."""
    child = multiprocessing.Process(target=_parse, args=(text,))
    start = time.perf_counter()
    child.start()
    child.join(cap)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    args = parser.parse_args()
    print(f"{'manifest':40} {'tomllib':>12} {'refused in':>12}  reason")
    for name, build in BOMBS.items():
        text = build()
        parsed = parse_seconds(text, args.max_seconds)
        best = min(_timed(text) for _ in range(args.repeat))
        shown = f"{parsed:10.2f} s" if parsed is not None else f">{args.max_seconds:8.0f} s"
        reason = bound_problem(text, max_artifacts=5000) or "(not refused)"
        print(f"{name:40} {shown:>12} {best * 1000:9.1f} ms  {reason}")


def _timed(text: str) -> float:
    start = time.perf_counter()
    bound_problem(text, max_artifacts=5000)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
