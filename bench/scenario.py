"""What every refresh benchmark sets up: upstream data, the GitHub fake in a child process, a
fresh database and collections pointing at the data.

`refresh_bench.py` drives the engine in its own process; `api_bench.py` drives a real site over
HTTP. Both serve the same skills from the same fake, so their numbers compare.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import secrets
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# The benchmarks run as scripts from bench/; the project's packages live one level up.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "var" / "bench"
TOKEN = "bench-token"

# -- the upstream data ---------------------------------------------------------------------------

_WORDS = (
    "agent", "analysis", "answer", "api", "artifact", "branch", "build", "cache", "change",
    "check", "claude", "code", "command", "commit", "config", "context", "data", "debug",
    "deploy", "describe", "diff", "document", "draft", "edit", "error", "example", "export",
    "field", "file", "format", "generate", "guide", "helper", "hook", "import", "input", "issue",
    "json", "lint", "list", "markdown", "merge", "metadata", "model", "module", "note", "output",
    "parse", "patch", "plan", "prompt", "python", "query", "read", "record", "refresh", "release",
    "report", "repository", "request", "review", "run", "schema", "script", "search", "section",
    "server", "skill", "source", "spec", "step", "summary", "table", "task", "template", "test",
    "text", "tool", "update", "upstream", "validate", "value", "version", "workflow", "write",
    "yaml",
)  # fmt: skip
_LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "MPL-2.0", "ISC")


def _sentence(rng: random.Random, low: int = 8, high: int = 18) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def skill_markdown(rng: random.Random, name: str, *, revision: int = 0) -> str:
    """A SKILL.md of 1-3 KB: YAML frontmatter and a body of headings, paragraphs and a list."""
    front = [
        "---",
        f"name: {name}",
        f"description: {_sentence(rng, 14, 30)}" + (f" Revision {revision}." if revision else ""),
    ]
    if rng.random() < 0.5:
        front.append(f"license: {rng.choice(_LICENSES)}")
    if rng.random() < 0.3:
        front.append(f"author: {rng.choice(['Ada Lovelace', 'Grace Hopper', 'Bench Team'])}")
    front.append("---")
    target = rng.randint(1000, 3000)
    body = [f"# {name.replace('-', ' ').title()}", ""]
    size = sum(len(line) + 1 for line in front + body)
    section = 1
    while size < target:
        lines = [f"## Step {section}", "", " ".join(_sentence(rng) for _ in range(3)), ""]
        lines += [f"- {_sentence(rng, 4, 9)}" for _ in range(rng.randint(2, 4))] + [""]
        body += lines
        size += sum(len(line) + 1 for line in lines)
        section += 1
    return "\n".join(front + body) + "\n"


@dataclass
class Layout:
    """Which artifact lives in which repository."""

    repos: list[str]
    artifacts: dict[str, list[str]]  # repo full name -> artifact names in it

    @classmethod
    def build(cls, n_artifacts: int, n_repos: int, prefix: str) -> Layout:
        n_repos = max(1, min(n_repos, n_artifacts))
        repos = [f"{prefix}-org{r // 10:02d}/skills-{r:03d}" for r in range(n_repos)]
        artifacts: dict[str, list[str]] = {name: [] for name in repos}
        for i in range(n_artifacts):
            artifacts[repos[i * n_repos // n_artifacts]].append(f"{prefix}-skill-{i:05d}")
        return cls(repos, artifacts)

    def files(self, repo: str, rng: random.Random, revision: int = 0) -> dict[str, str]:
        out = {"README.md": f"# {repo}\n\nSkills for the benchmark.\n", "LICENSE": "MIT\n"}
        for name in self.artifacts[repo]:
            out[f"skills/{name}/SKILL.md"] = skill_markdown(rng, name, revision=revision)
            if rng.random() < 0.5:
                out[f"skills/{name}/scripts/run.py"] = f"print({name!r})\n"
        return out

    def changed_files(self, repo: str, rng: random.Random, revision: int) -> dict[str, str]:
        return {
            f"skills/{name}/SKILL.md": skill_markdown(rng, name, revision=revision)
            for name in self.artifacts[repo]
        }


# -- the fake, in a child process ----------------------------------------------------------------


def _serve_fake(conn: Any, latency: float) -> None:
    """Child process: own a FakeGitHub and answer commands from the benchmark over a pipe."""
    from fakegithub import FakeGitHub

    fake = FakeGitHub(latency=latency, token=TOKEN, rate_limit=10_000_000).start()
    conn.send(fake.url)
    while True:
        command, args = conn.recv()
        if command == "stop":
            fake.stop()
            conn.send(None)
            return
        if command == "add_repos":
            for name, files, topics, license_spdx in args:
                fake.add_repo(name, files=files, topics=topics, license_spdx=license_spdx)
            conn.send(None)
        elif command == "commit":
            for name, files in args:
                fake.commit(name, files=files, message="bench: update skills")
            conn.send(None)
        elif command == "make_private":
            for name in args:
                fake.set_repo(name, private=True)
            conn.send(None)
        elif command == "add_token":
            token, login, private = args
            fake.add_token(token, login=login, private=private, rate_limit=10_000_000)
            conn.send(None)
        elif command == "add_app":
            app_id, public_pem, owners = args
            fake.add_app(app_id, public_pem, slug="bench-app")
            conn.send([fake.install_app(app_id, o, rate_limit=10_000_000) for o in owners])
        elif command == "take_log":
            records = [
                (r.path, r.status, r.authorized, "if-none-match" in r.headers)
                for r in fake.requests
            ]
            fake.reset_log()
            conn.send((records, fake.peak_in_flight, fake.graphql_remaining))
        else:  # pragma: no cover - a programming error in the benchmark
            conn.send(ValueError(command))


class FakeProcess:
    def __init__(self, latency: float) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve_fake, args=(child, latency), daemon=True)
        self._process.start()
        self.url: str = self._conn.recv()
        self.token = TOKEN

    def call(self, command: str, args: Any = None) -> Any:
        self._conn.send((command, args))
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def stop(self) -> None:
        if self._process.is_alive():
            with suppress(EOFError, OSError):
                self.call("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()


# -- database ------------------------------------------------------------------------------------


def prepare_database(
    url: str | None, *, sqlite_name: str = "bench.sqlite3"
) -> tuple[str, Callable[[], None]]:
    """A fresh database for this run: its URL and how to clean it up afterwards.

    Without a URL, an SQLite file under var/bench/ (each benchmark names its own, so two can
    run at once).
    """
    if not url:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = BENCH_DIR / sqlite_name
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: None
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit("--database-url must be a postgres:// URL (SQLite is the default)")
    name = parts.path.lstrip("/")
    if not name or ("bench" not in name and "scratch" not in name):
        raise SystemExit(
            "the benchmark drops and recreates its database: name one with 'bench' or 'scratch' "
            f"in it (got {name!r})"
        )
    import psycopg
    from psycopg import sql

    admin = urlunsplit(parts._replace(path="/postgres"))

    def recreate(create: bool) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            if create:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    recreate(True)
    return url, lambda: recreate(False)


def run_with_fake(
    database_url: str | None,
    latency: float,
    bench: Callable[[FakeProcess, str], int],
    *,
    sqlite_name: str = "bench.sqlite3",
) -> int:
    """`bench(fake, database_url)` on a fresh database beside the GitHub fake in its own
    process; both are gone afterwards, whatever happens."""
    url, drop_database = prepare_database(database_url, sqlite_name=sqlite_name)
    fake = FakeProcess(latency)
    try:
        return bench(fake, url)
    finally:
        fake.stop()
        from django.db import connections

        connections.close_all()
        drop_database()


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    # A production-like site: DEBUG off, so it needs a key; a random one per run.
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillmeat_site.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute("select sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]}"


# -- collections ---------------------------------------------------------------------------------


def make_collection(owner: Any, name: str, layout: Layout) -> Any:
    from collections_app.models import Artifact, Collection

    collection = Collection.objects.create(owner=owner, name=name)
    rows = []
    for repo in layout.repos:
        for artifact in layout.artifacts[repo]:
            row = Artifact(collection=collection, type="skill", name=artifact)
            row.set_source(f"{repo}/skills/{artifact}")
            rows.append(row)
    Artifact.objects.bulk_create(rows, batch_size=500)
    return collection


def publish(fake: FakeProcess, layout: Layout, seed: int) -> None:
    rng = random.Random(seed)
    batch = []
    for i, repo in enumerate(layout.repos):
        topics = sorted(rng.sample(["claude", "skills", "agents", "docs", "tools", "bench"], 2))
        batch.append((repo, layout.files(repo, rng), topics, _LICENSES[i % len(_LICENSES)]))
        if len(batch) == 25:
            fake.call("add_repos", batch)
            batch = []
    if batch:
        fake.call("add_repos", batch)
