"""CPU time of a run's decide step and of building its entries, for 1,000 read artifacts.

Usage: .venv/bin/python bench/decide_bench.py [--artifacts N]
No network and no database: the artifacts and what upstream said are built in memory, the parse
cache is warm (as in a warm refresh), and the best of 15 rounds is printed in CPU time, which a
busy machine disturbs less than wall time. It measures what the frozen records between the
engine's steps cost: `evaluate` making a `Decision` per artifact, and the entries made from them.
"""

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

ROUNDS = 15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=int, default=1000)
    args = parser.parse_args()

    import django

    django.setup()
    from collections_app.models import Artifact
    from refresher.apply import _entry
    from refresher.evaluate import evaluate
    from refresher.models import RefreshRun
    from refresher.options import RefreshOptions
    from refresher.upstream.reads import UpstreamRead

    now = datetime.now(UTC)
    pairs = []
    for i in range(args.artifacts):
        artifact = Artifact(
            id=uuid.uuid4(),
            type="skill",
            name=f"s{i}",
            description="as stored",
            content_sha="a" * 40,
            resolved_sha="b" * 40,
            source=f"acme/r{i % 100}/skills/s{i}",
            updated_at=now,
        )
        text = f"---\nname: s{i}\ndescription: Skill {i} does one thing well.\n---\nBody {i}.\n"
        read = UpstreamRead(
            repository={"owner": {"login": "acme"}, "license": {"spdx_id": "MIT"}},
            read_sha="c" * 40,
            tracked_sha="c" * 40,
            read_path_sha="d" * 40,
            tracked_path_sha="d" * 40,
            main_file=f"skills/s{i}/SKILL.md",
            data=text.encode(),
            duration_ms=5,
        )
        pairs.append((artifact, read))
    options = RefreshOptions()
    run = RefreshRun(id=uuid.uuid4())

    def decide() -> list:
        return [evaluate(artifact=a, upstream=r, options=options) for a, r in pairs]

    decide()  # a warm refresh finds its main files parsed already
    best_decide = best_entries = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        decisions = decide()
        best_decide = min(best_decide, time.process_time() - started)
        started = time.process_time()
        [_entry(run, d, exists=True) for d in decisions]
        best_entries = min(best_entries, time.process_time() - started)
    print(
        f"{args.artifacts} artifacts: decide {best_decide * 1000:.1f} ms, "
        f"entries {best_entries * 1000:.1f} ms (CPU time, best of {ROUNDS})"
    )


if __name__ == "__main__":
    main()
