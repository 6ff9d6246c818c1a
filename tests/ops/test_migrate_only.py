"""`manage.py migrate` alone prepares a database: a fresh one serves a refresh right after it.

The suite's own test databases cannot show this (Django's test runner creates the cache table by
itself), so a fresh database is made here, migrated by `manage.py migrate` in another process,
and served a refresh by the site's own settings.
"""

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from tests.ops.procs import database_url, manage, run_python, site_env
from tests.upstream import add_skills_repo

REFRESH = """
import json
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token
from collections_app.models import Artifact, Collection
from django.contrib.auth import get_user_model

user = get_user_model().objects.create_user("operator")
token = Token.objects.create(user=user)
collection = Collection.objects.create(owner=user, name="Fresh")
Artifact.objects.create(collection=collection, type="skill", name="pdf",
                        source="acme/skills/skills/pdf")
client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_HOST="localhost")
answer = client.post(f"/api/v1/collections/{collection.pk}/refresh")
print(json.dumps({
    "status": answer.status_code,
    "body": answer.json(),
    "tables": connection.introspection.table_names(),
}))
"""


@pytest.fixture
def fresh_database(tmp_path, db) -> Iterator[str]:
    """The URL of a database nothing has touched yet, on the server the suite runs on."""
    if connection.vendor == "sqlite":
        yield database_url(str(tmp_path / "fresh.sqlite3"))
        return
    name = f"{connection.settings_dict['NAME']}_fresh_{uuid.uuid4().hex[:8]}"
    s = connection.settings_dict
    admin = {
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
        "user": s["USER"],
        "password": s["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_fresh_database_after_migrate_alone_serves_a_refresh(tmp_path, fresh_database, github):
    add_skills_repo(github)
    env = site_env(
        tmp_path,
        DATABASE_URL=fresh_database,
        GITHUB_API_URL=github.url,
        GITHUB_TOKEN=github.token,
    )

    migrated = manage("migrate", "--no-input", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    served = run_python(REFRESH, env)
    assert served.returncode == 0, served.stderr[-3000:]
    answer = json.loads(served.stdout.strip().splitlines()[-1])
    # The throttle counted this refresh in the database cache, whose table a migration made.
    assert "skillmeat_cache" in answer["tables"]
    assert answer["status"] == 200, answer["body"]
    assert answer["body"]["summary"]["refreshed"] == 1


def test_the_makefile_asks_for_no_set_up_step_but_migrate():
    from tests.ops.procs import ROOT

    assert "createcachetable" not in (ROOT / "Makefile").read_text()


def test_migrate_also_creates_the_table_of_a_cache_location_changed_later(tmp_path):
    url = f"sqlite:///{tmp_path / 'moved.sqlite3'}"
    first = manage("migrate", "--no-input", env=site_env(tmp_path, DATABASE_URL=url))
    assert first.returncode == 0, first.stderr[-3000:]

    moved = site_env(tmp_path, DATABASE_URL=url, CACHE_LOCATION="skillmeat_cache_v2")
    again = manage("migrate", "--no-input", env=moved)
    assert again.returncode == 0, again.stderr[-3000:]

    tables = run_python(
        "from django.db import connection\nprint(connection.introspection.table_names())", moved
    )
    assert "skillmeat_cache_v2" in tables.stdout
