"""The admin's hardening (SPEC 18): lifting a GitHub pause needs the change permission, API
token keys are never shown, and the real login form limits attempts per user and address."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from refresher.models import GitHubQuota
from tests.admin.conftest import grant
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
QUOTA_URL = "/admin/refresher/githubquota/"


@pytest.fixture
def paused():
    return GitHubQuota.objects.create(
        account="a" * 64,
        api_url="https://api.github.com",
        paused_until=timezone.now() + timedelta(hours=1),
        strikes=3,
    )


def staff_with(*permissions: str) -> Client:
    user = UserFactory(username="viewer", is_staff=True)
    grant(user, *permissions)
    client = Client()
    client.force_login(user)
    return client


def test_a_staff_member_who_may_only_view_cannot_lift_a_pause(paused):
    client = staff_with("refresher.view_githubquota")
    page = client.get(QUOTA_URL)
    assert page.status_code == 200
    assert b"lift_pause" not in page.content
    client.post(QUOTA_URL, {"action": "lift_pause", "_selected_action": [paused.pk]})
    paused.refresh_from_db()
    assert paused.paused_until is not None and paused.strikes == 3


def test_the_change_permission_lifts_it_and_still_edits_nothing_by_hand(paused):
    client = staff_with("refresher.view_githubquota", "refresher.change_githubquota")
    assert b"lift_pause" in client.get(QUOTA_URL).content
    client.post(QUOTA_URL, {"action": "lift_pause", "_selected_action": [paused.pk]})
    paused.refresh_from_db()
    assert paused.paused_until is None and paused.strikes == 0
    # The row's page stays read-only: no form to save.
    page = client.get(f"{QUOTA_URL}{paused.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_token_admin_never_shows_a_key(superuser_client):
    owner = UserFactory(username="dana")
    key = Token.objects.create(user=owner).key
    listing = superuser_client.get("/admin/api_tokens/apitoken/")
    assert listing.status_code == 200 and b"dana" in listing.content
    page = superuser_client.get(f"/admin/api_tokens/apitoken/{owner.pk}/change/")
    assert page.status_code == 200 and b"dana" in page.content
    for response in (listing, page, superuser_client.get(f"/admin/auth/user/{owner.pk}/change/")):
        assert key.encode() not in response.content
        assert key[:8].encode() not in response.content
    assert superuser_client.get("/admin/api_tokens/apitoken/add/").status_code == 403


def test_staff_can_revoke_a_token(superuser_client):
    owner = UserFactory(username="dana")
    key = Token.objects.create(user=owner).key
    assert client_for(owner).get("/api/v1/collections/").status_code == 200
    confirm = superuser_client.get(f"/admin/api_tokens/apitoken/{owner.pk}/delete/")
    assert confirm.status_code == 200 and key.encode() not in confirm.content
    response = superuser_client.post(
        f"/admin/api_tokens/apitoken/{owner.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Token.objects.filter(key=key).exists()
    # Nor does the change history or the message after the deletion name it.
    assert key not in LogEntry.objects.get().object_repr
    assert key.encode() not in superuser_client.get(response["Location"]).content
    revoked = Client().get("/api/v1/collections/", HTTP_AUTHORIZATION=f"Token {key}")
    assert revoked.status_code == 401


def test_drf_create_token_keeps_working_as_documented():
    UserFactory(username="dana")
    out = StringIO()
    call_command("drf_create_token", "dana", stdout=out)
    key = re.search(r"Generated token (\w+) for user dana", out.getvalue()).group(1)
    assert Token.objects.get(user__username="dana").key == key
    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/collections/").status_code == 200


# -- login attempts ------------------------------------------------------------------------------


def login(client: Client, username: str, password: str, address: str = "198.51.100.7"):
    """The real admin login form: its page (for the CSRF cookie), then the POST."""
    client.get("/admin/login/", REMOTE_ADDR=address)
    return client.post(
        "/admin/login/?next=/admin/",
        {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
        REMOTE_ADDR=address,
    )


@pytest.fixture
def staff():
    return UserFactory(username="ops", password=PASSWORD, is_staff=True, is_superuser=True)


def test_twelve_wrong_passwords_lock_the_user_at_that_address(staff, settings):
    client = Client(enforce_csrf_checks=True)
    statuses = [login(client, "ops", f"guess-{i}").status_code for i in range(12)]
    # The form again for the first failures, then the lockout answer.
    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(statuses[settings.AXES_FAILURE_LIMIT :]) == {429}
    # The right password is refused too while locked, and no session is opened.
    right = login(client, "ops", PASSWORD)
    assert right.status_code == 429
    assert client.get("/admin/").status_code == 302


def test_the_lockout_answer_does_not_tell_whether_the_user_exists(staff, settings):
    answers = {}
    for username in ("ops", "nobody-here"):
        client = Client(enforce_csrf_checks=True)
        for i in range(settings.AXES_FAILURE_LIMIT):
            login(client, username, f"guess-{i}")
        locked = login(client, username, "guess-again")
        answers[username] = (locked.status_code, locked.content.replace(username.encode(), b"U"))
    assert answers["ops"] == answers["nobody-here"]


def test_another_address_and_the_cool_off_let_the_user_in(staff, settings):
    client = Client(enforce_csrf_checks=True)
    for i in range(settings.AXES_FAILURE_LIMIT):
        login(client, "ops", f"guess-{i}")
    assert login(client, "ops", PASSWORD).status_code == 429
    # From elsewhere the user still logs in: nobody can lock a user out from afar.
    elsewhere = Client(enforce_csrf_checks=True)
    response = login(elsewhere, "ops", PASSWORD, address="203.0.113.9")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    # Once the cool-off is over the locked address may try again.
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME * 2)
    assert login(client, "ops", PASSWORD).status_code == 302


def test_a_success_resets_the_count(staff, settings):
    client = Client(enforce_csrf_checks=True)
    for _round in range(3):
        for i in range(settings.AXES_FAILURE_LIMIT - 1):
            assert login(client, "ops", f"guess-{i}").status_code == 200
        assert login(client, "ops", PASSWORD).status_code == 302
        client.post("/admin/logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_api_tokens_are_never_counted_or_locked(staff, settings):
    token = Token.objects.create(user=staff).key
    client = Client(enforce_csrf_checks=True)
    for i in range(settings.AXES_FAILURE_LIMIT + 2):
        login(client, "ops", f"guess-{i}")
    for _ in range(20):
        bad = Client().get("/api/v1/collections/", HTTP_AUTHORIZATION="Token wrong")
        assert bad.status_code == 401
    good = Client().get(
        "/api/v1/collections/", HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR="198.51.100.7"
    )
    assert good.status_code == 200
