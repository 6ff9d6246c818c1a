"""`manage.py seed_demo`, which `make run` calls every time: a demo user, token and collection."""

import subprocess
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from rest_framework.authtoken.models import Token

from collections_app.models import Artifact, Collection


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_the_demo_user_once_and_prints_its_password_once(db):
    first = seed()
    second = seed()

    assert "password:" in first
    assert "password:" not in second
    token = Token.objects.get(user__username="demo")
    assert token.key in first and token.key in second
    collection = Collection.objects.get(owner__username="demo")
    assert Artifact.objects.filter(collection=collection).count() >= 3
    assert Collection.objects.filter(owner__username="demo").count() == 1


def test_the_printed_url_has_the_port_the_site_is_served_on(db):
    out = StringIO()
    call_command("seed_demo", url="http://127.0.0.1:9123/", stdout=out)
    assert "http://127.0.0.1:9123/api/v1/collections/" in out.getvalue()
    assert ":8000" not in out.getvalue()


def test_make_run_passes_its_host_and_port_to_seed_demo():
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        ["make", "-n", "seed", "PORT=9123", "HOST=0.0.0.0"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "seed_demo --url http://0.0.0.0:9123" in result.stdout
