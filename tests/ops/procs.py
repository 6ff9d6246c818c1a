"""Running the site's own commands in another process, as an operator would."""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url(name: str | None = None) -> str:
    """The URL of this test's database (or another `name` on the same server)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{name or s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name or s['NAME']}"


def site_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a production process: the site's settings, not the suite's.

    An empty `.env` in `tmp_path` stands in for the project root's, so a developer's own `.env`
    never leaks into a test.
    """
    env_file = tmp_path / "empty.env"
    env_file.touch()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "GITHUB_", "LOG_", "REFRESH_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "skillmeat_site.settings",
            "DJANGO_ENV_FILE": str(env_file),
            # A production site needs a key; a development one keeps its own here, not in var/.
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        }
    )
    env.update(overrides)
    return env


def run_python(code: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess:
    """Run `code` after `django.setup()` in a new interpreter at the project root."""
    script = "import django\ndjango.setup()\n" + code
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
