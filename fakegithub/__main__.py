"""Serve the fake by hand: ``python -m fakegithub --port 9999 --latency 0.05 --demo``."""

from __future__ import annotations

import argparse
import contextlib
import threading

from .demo import add_demo_repos
from .server import FakeGitHub


def main(argv: list[str] | None = None) -> int:
    """Serve the fake until interrupted."""
    parser = argparse.ArgumentParser(description="Serve a fake GitHub REST API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=9999, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to answers")
    parser.add_argument("--rate-limit", type=int, default=5000)
    parser.add_argument("--token", default="test-token", help="token private repos require")
    parser.add_argument("--demo", action="store_true", help="load the demo repositories")
    args = parser.parse_args(argv)

    fake = FakeGitHub(
        latency=args.latency, rate_limit=args.rate_limit, port=args.port, token=args.token
    )
    if args.demo:
        add_demo_repos(fake)
    with fake:
        print(f"Fake GitHub API on {fake.url} (token {fake.token!r}); Ctrl-C stops it.")
        for full_name in fake.full_names():
            print(f"  {full_name} at {fake.head(full_name)}")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
