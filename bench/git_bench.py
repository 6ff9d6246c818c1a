#!/usr/bin/env python
"""Git sources benchmark: what refreshing and discovering local git repositories costs.

Run from the repository root::

    .venv/bin/python bench/git_bench.py [--artifacts 200] [--repos 4]

It builds R local repositories (git+file sources) holding N skills between them, a fresh SQLite
database under var/bench/, and drives the production engine (`refresher.service.refresh_now`, so
the git provider is reached as every door reaches it):

- cold: the first refresh, with an empty GIT_CACHE_DIR (every repository is fetched);
- warm: the same refresh again, nothing changed upstream;
- warm, one repository changed: after a commit rewriting ten skills of one repository;
- discovery: a dry-run discovery of one repository (one tree read, one batch of blob reads).

For each it prints the wall time and how many git commands ran, by subcommand.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench" / "git"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=200)
    parser.add_argument("--repos", type=int, default=4)
    args = parser.parse_args()

    shutil.rmtree(BENCH_DIR, ignore_errors=True)
    BENCH_DIR.mkdir(parents=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_DIR / 'bench.sqlite3'}"
    os.environ["GIT_ALLOW_LOCAL"] = "true"
    os.environ["GIT_CACHE_DIR"] = str(BENCH_DIR / "cache")
    # A production-like site: DEBUG off, so it needs a key; a random one per run.
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillmeat_site.settings")
    os.environ["LOG_LEVEL"] = "WARNING"

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from django.contrib.auth import get_user_model

    from bench.refresh_bench import skill_markdown
    from collections_app.models import Artifact, Collection
    from refresher.discovery import DiscoverRequest, discover_now
    from refresher.options import RefreshOptions
    from refresher.service import refresh_now
    from refresher.upstream.git.cli import Git
    from tests.gitrepo import LocalRepo

    calls: Counter[str] = Counter()
    original = Git.run

    def counted(self: Git, args: list[str], **kwargs: object) -> bytes:
        calls[args[0]] += 1
        return original(self, args, **kwargs)  # type: ignore[arg-type]

    Git.run = counted  # type: ignore[method-assign]

    rng = random.Random(11)
    per_repo = args.artifacts // args.repos
    repos = []
    for r in range(args.repos):
        repo = LocalRepo(BENCH_DIR / "upstream" / "bench" / f"repo{r}")
        files = {
            f"skills/s{r}-{i}/SKILL.md": skill_markdown(rng, f"s{r}-{i}") for i in range(per_repo)
        }
        files.update(
            {f"skills/s{r}-{i}/scripts/run.py": "print('run')\n" for i in range(0, per_repo, 2)}
        )
        repo.commit(files, "skills")
        repos.append(repo)

    user = get_user_model().objects.create_user("bench")
    collection = Collection.objects.create(owner=user, name="git bench")
    Artifact.objects.bulk_create(
        [
            _artifact(Artifact, collection, f"s{r}-{i}", repo.source(f"skills/s{r}-{i}"))
            for r, repo in enumerate(repos)
            for i in range(per_repo)
        ]
    )

    def measure(label: str, action: object) -> None:
        calls.clear()
        started = time.perf_counter()
        outcome = action()  # type: ignore[operator]
        elapsed = time.perf_counter() - started
        commands = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
        print(f"| {label} | {elapsed:.2f} s | {sum(calls.values())} ({commands}) | {outcome} |")

    def refresh() -> str:
        run = refresh_now(collection, RefreshOptions())
        counts = f"{run.refreshed} refreshed, {run.unchanged} unchanged, {run.error} errors"
        return f"{run.status}: {counts}"

    print(f"{args.artifacts} skills in {args.repos} local repositories; git {_git_version()}")
    print("| scenario | time | git commands | outcome |")
    print("| --- | --- | --- | --- |")
    measure("cold refresh", refresh)
    measure("warm refresh, unchanged", refresh)
    changed = {
        f"skills/s0-{i}/SKILL.md": skill_markdown(rng, f"s0-{i}", revision=1) for i in range(10)
    }
    repos[0].commit(changed, "ten skills changed")
    measure("warm refresh, one repository changed", refresh)
    other = Collection.objects.create(owner=user, name="discovery")

    def discovery() -> str:
        found = discover_now(other, DiscoverRequest(source=repos[1].source(), dry_run=True))
        return f"{len(found.artifacts)} found"

    measure(f"discovery dry run of one repository ({per_repo} skills)", discovery)
    measure("discovery dry run again", discovery)


def _artifact(model: type, collection: object, name: str, source: str) -> object:
    artifact = model(collection=collection, type="skill", name=name)
    artifact.set_source(source)
    return artifact


def _git_version() -> str:
    return subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.split()[-1]


if __name__ == "__main__":
    main()
