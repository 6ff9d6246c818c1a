"""The secret key and the safe defaults around it (SPEC 18): a site with DEBUG off and no key
refuses to start, a development site keeps a random key of its own, a forged messages cookie
injects nothing into the admin, and the login and host defaults."""

import json
import re

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.utils.safestring import mark_safe

from tests.factories import UserFactory
from tests.ops.procs import manage, run_python, site_env

# The key every site without DJANGO_SECRET_KEY used to share, public in the repository's history.
OLD_PUBLIC_KEY = "insecure-local-development-key-set-DJANGO_SECRET_KEY-in-production"
SCRIPT = "<script>alert('forged')</script>"


def test_a_site_with_debug_off_and_no_key_refuses_to_start_and_says_why(tmp_path):
    result = manage("check", env=site_env(tmp_path, DJANGO_DEBUG="false", DJANGO_SECRET_KEY=""))
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "DJANGO_DEBUG off" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def key_of(environment: dict[str, str]) -> str:
    result = run_python("from django.conf import settings; print(settings.SECRET_KEY)", environment)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


def test_a_development_site_makes_a_random_key_once_and_keeps_it_private(tmp_path):
    environment = site_env(tmp_path, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")
    first = key_of(environment)
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first and len(first) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_of(environment) == first  # kept across restarts

    # Another development site gets a key of its own: no key is a constant of the code.
    other = tmp_path / "other"
    other.mkdir()
    assert key_of(site_env(other, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")) != first
    assert OLD_PUBLIC_KEY not in (first, key_of(environment))


def test_a_configured_key_wins_and_nothing_is_written(tmp_path):
    environment = site_env(tmp_path, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="k" * 60)
    assert key_of(environment) == "k" * 60
    assert not (tmp_path / "secret_key").exists()


def forged_messages_cookie(key: str) -> str:
    """A `messages` cookie holding markup marked safe, signed with `key`."""
    with override_settings(SECRET_KEY=key):
        response = HttpResponse()
        storage = CookieStorage(HttpRequest())
        storage._store([Message(constants.ERROR, mark_safe(SCRIPT))], response)
        return response.cookies["messages"].value


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["old-public-key", "the-sites-own-key"])
def test_a_forged_messages_cookie_renders_nothing_in_the_admin(client, settings, key):
    # The old public key, and (as if it had leaked) the site's own: messages are read from the
    # server-side session only, so a cookie cannot put one there.
    signing_key = OLD_PUBLIC_KEY if key == "old-public-key" else settings.SECRET_KEY
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    client.cookies["messages"] = forged_messages_cookie(signing_key)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert SCRIPT.encode() not in response.content
    assert b"alert(" not in response.content


@pytest.mark.django_db
def test_the_admins_own_messages_still_show_through_the_session_escaped(client):
    from collections_app.models import Collection

    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    collection = Collection.objects.create(owner=admin, name=SCRIPT)
    client.force_login(admin)
    response = client.post(
        f"/admin/collections_app/collection/{collection.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert "messages" not in response.cookies
    assert b"was deleted successfully" in response.content
    assert b"&lt;script&gt;alert(" in response.content
    assert SCRIPT.encode() not in response.content


@pytest.mark.django_db
def test_the_api_login_goes_to_the_api_root_or_to_next(client):
    UserFactory(username="dana", password="correct horse battery staple")
    form = {"username": "dana", "password": "correct horse battery staple"}
    response = client.post("/api-auth/login/", form)
    assert response.status_code == 302 and response["Location"] == "/api/v1/"
    assert client.get(response["Location"]).status_code == 200
    client.logout()
    response = client.post("/api-auth/login/?next=/api/v1/collections/", form)
    assert response["Location"] == "/api/v1/collections/"


def test_testserver_is_not_an_allowed_host_of_the_site(tmp_path):
    code = (
        "import json; from django.conf import settings; print(json.dumps(settings.ALLOWED_HOSTS))"
    )
    result = run_python(code, site_env(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    hosts = json.loads(result.stdout.strip().splitlines()[-1])
    assert "testserver" not in hosts and "127.0.0.1" in hosts


def test_a_public_site_configured_as_the_readme_says_passes_the_deploy_check(tmp_path):
    public = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "s" * 20 + "-Vq8!xZ3#" * 5,
        "DJANGO_ALLOWED_HOSTS": "skills.example.org",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://skills.example.org",
        "DJANGO_SECURE_COOKIES": "true",
    }
    plain = manage("check", "--deploy", env=site_env(tmp_path, **public))
    assert "security.W004" in plain.stderr + plain.stdout  # no HSTS until the site says so
    https = {
        **public,
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "DJANGO_SECURE_HSTS_SECONDS": "3600",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "true",
    }
    result = manage("check", "--deploy", env=site_env(tmp_path, **https))
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    # Left: HSTS for subdomains and the preload list, the domain owner's choice.
    assert set(re.findall(r"security\.W\d+", said)) == {"security.W005", "security.W021"}
    preload = {
        **https,
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
        "DJANGO_SECURE_HSTS_PRELOAD": "true",
    }
    result = manage("check", "--deploy", env=site_env(tmp_path, **preload))
    assert "System check identified no issues" in result.stdout + result.stderr
