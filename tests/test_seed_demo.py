"""`manage.py seed_demo`, which `make run` calls every time: a demo user, token and collection."""

from io import StringIO

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
