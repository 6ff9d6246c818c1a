"""`/api/v1/credentials/`: owner-scoped CRUD, write-only secrets, per-kind rules (SPEC 16)."""

import base64
import json

import pytest
from cryptography.fernet import Fernet

from collections_app.models import Credential
from refresher.credentials.kinds import open_secret
from tests.credentials_support import make_credential, new_app_key

pytestmark = pytest.mark.django_db

TOKEN = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ng0000wxyz"
URL = "/api/v1/credentials/"


def body(response) -> dict:
    return json.loads(response.content)


def test_a_token_is_stored_encrypted_and_never_answered(api, user, credential_keys):
    created = api.post(
        URL, {"name": "work", "kind": "github_token", "secret": TOKEN}, format="json"
    )

    assert created.status_code == 201, created.content
    data = body(created)
    assert data["kind"] == "github_token"
    assert data["fingerprint"] == "…wxyz"
    assert data["host"] == "github.com"
    assert "secret" not in data
    stored = Credential.objects.get(pk=data["id"])
    assert stored.owner == user
    assert TOKEN not in stored.secret_encrypted
    assert open_secret(stored).reveal() == TOKEN
    for response in (created, api.get(URL), api.get(f"{URL}{data['id']}/")):
        assert TOKEN not in response.content.decode()
        assert base64.b64encode(TOKEN.encode()).decode() not in response.content.decode()


def test_without_credential_keys_nothing_is_stored_and_the_setting_is_named(api, settings):
    settings.CREDENTIAL_KEYS = []

    response = api.post(
        URL, {"name": "work", "kind": "github_token", "secret": TOKEN}, format="json"
    )

    assert response.status_code == 400
    assert body(response)["code"] == "credentials_disabled"
    assert body(response)["details"] == {"setting": "CREDENTIAL_KEYS"}
    assert "CREDENTIAL_KEYS" in body(response)["message"]
    assert not Credential.objects.exists()


def test_replacing_a_secret_without_keys_is_refused_too(api, user, credential_keys, settings):
    credential = make_credential(user, secret=TOKEN)
    settings.CREDENTIAL_KEYS = []

    response = api.patch(f"{URL}{credential.pk}/", {"secret": "ghp_" + "n" * 36}, format="json")

    assert response.status_code == 400
    assert body(response)["code"] == "credentials_disabled"


def test_another_users_credential_is_a_404_for_every_method(other_api, user, credential_keys):
    credential = make_credential(user, secret=TOKEN)
    path = f"{URL}{credential.pk}/"

    assert other_api.get(path).status_code == 404
    assert other_api.patch(path, {"name": "mine now"}, format="json").status_code == 404
    assert other_api.delete(path).status_code == 404
    assert other_api.get(URL).json()["count"] == 0
    assert Credential.objects.filter(pk=credential.pk, name=credential.name).exists()


def test_staff_see_only_their_own_credentials_in_the_api(staff_api, user, credential_keys):
    credential = make_credential(user, secret=TOKEN)

    assert staff_api.get(URL).json()["count"] == 0
    assert staff_api.get(f"{URL}{credential.pk}/").status_code == 404


def test_a_name_is_unique_per_owner_but_not_across_owners(api, other_api, credential_keys):
    first = {"name": "work", "kind": "github_token", "secret": TOKEN}
    assert api.post(URL, first, format="json").status_code == 201

    again = api.post(URL, first, format="json")
    assert again.status_code == 409
    assert body(again)["code"] == "already_exists"
    assert other_api.post(URL, first, format="json").status_code == 201


@pytest.mark.parametrize(
    "name", ["work\u200b", "work\u202eexe.md", "a\x07bell", "tag\U000e0041", "\u2066iso"]
)
def test_names_refuse_control_and_invisible_characters(api, credential_keys, name):
    response = api.post(URL, {"name": name, "kind": "github_token", "secret": TOKEN}, format="json")

    assert response.status_code == 400
    assert "name" in body(response)["details"]


@pytest.mark.parametrize(
    "secret, message",
    [
        ("ghp_line\nbreak", "control characters"),
        ("ghp_\x1b[31m", "control characters"),
        ("", "blank"),
    ],
)
def test_a_secret_holds_no_control_characters(api, credential_keys, secret, message):
    response = api.post(URL, {"name": "w", "kind": "github_token", "secret": secret}, format="json")

    assert response.status_code == 400
    assert message in body(response)["details"]["secret"][0]
    assert secret not in response.content.decode() or not secret


def test_a_new_credential_takes_exactly_its_kinds_fields(api, credential_keys):
    response = api.post(
        URL,
        {"name": "w", "kind": "github_token", "secret": TOKEN, "username": "", "app_id": 3},
        format="json",
    )

    assert response.status_code == 400
    assert set(body(response)["details"]) == {"username", "app_id"}
    assert not Credential.objects.exists()


def test_an_edit_leaves_empty_required_fields_as_they_are(api, user, settings, credential_keys):
    settings.GIT_ALLOWED_HOSTS = ["git.example.com"]
    credential = make_credential(
        user, kind="git_basic", host="git.example.com", username="bot", secret="pw"
    )

    response = api.put(
        f"{URL}{credential.pk}/", {"name": "forge", "host": "", "username": ""}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (body(response)["host"], body(response)["username"]) == ("git.example.com", "bot")


def test_an_edit_ignores_the_kind_and_fields_of_other_kinds(api, user, credential_keys):
    credential = make_credential(user, secret=TOKEN)

    response = api.patch(
        f"{URL}{credential.pk}/",
        {"kind": "git_basic", "username": "me", "app_id": 9, "private_key": "x", "name": "n"},
        format="json",
    )

    assert response.status_code == 200
    credential.refresh_from_db()
    assert (credential.kind, credential.username, credential.app_id) == ("github_token", "", None)
    assert credential.name == "n"
    assert open_secret(credential).reveal() == TOKEN


def test_a_name_is_trimmed_like_every_name_and_not_blank(api, credential_keys):
    padded = api.post(
        URL, {"name": "  padded  ", "kind": "github_token", "secret": TOKEN}, format="json"
    )
    blank = api.post(URL, {"name": "   ", "kind": "github_token", "secret": TOKEN}, format="json")

    assert padded.status_code == 201 and body(padded)["name"] == "padded"
    assert blank.status_code == 400 and "name" in body(blank)["details"]


class TestGitBasic:
    def test_a_login_for_an_allowed_host(self, api, settings, credential_keys):
        settings.GIT_ALLOWED_HOSTS = ["git.example.com", "127.0.0.1:8443"]
        data = {
            "name": "forge",
            "kind": "git_basic",
            "host": "GIT.example.com:443",
            "username": "ci-bot",
            "secret": "s3cret-pass-phrase!",
        }

        response = api.post(URL, data, format="json")

        assert response.status_code == 201, response.content
        assert body(response)["host"] == "git.example.com"
        assert body(response)["username"] == "ci-bot"
        assert body(response)["fingerprint"] == "…ase!"
        with_port = api.post(URL, {**data, "name": "lo", "host": "127.0.0.1:8443"}, format="json")
        assert body(with_port)["host"] == "127.0.0.1:8443"

    @pytest.mark.parametrize(
        "host", ["other.example.com", "git.example.com:8443", "user@git.example.com", "a b"]
    )
    def test_a_host_the_site_does_not_read_is_refused(self, api, settings, credential_keys, host):
        settings.GIT_ALLOWED_HOSTS = ["git.example.com"]
        data = {"name": "f", "kind": "git_basic", "host": host, "username": "u", "secret": "pw"}

        response = api.post(URL, data, format="json")

        assert response.status_code == 400
        assert "host" in body(response)["details"]

    def test_moving_to_another_host_needs_the_secret_again(
        self, api, user, settings, credential_keys
    ):
        settings.GIT_ALLOWED_HOSTS = ["git.example.com", "git.example.org"]
        credential = make_credential(
            user, kind="git_basic", host="git.example.com", username="u", secret="pw-of-the-com"
        )
        path = f"{URL}{credential.pk}/"

        refused = api.patch(path, {"host": "git.example.org"}, format="json")
        assert refused.status_code == 400
        assert "secret" in body(refused)["details"]
        credential.refresh_from_db()
        assert credential.host == "git.example.com"

        moved = api.patch(
            path, {"host": "git.example.org", "secret": "pw-of-the-org"}, format="json"
        )
        assert moved.status_code == 200
        assert body(moved)["host"] == "git.example.org"

    def test_a_username_with_a_colon_is_refused(self, api, settings, credential_keys):
        settings.GIT_ALLOWED_HOSTS = ["git.example.com"]
        data = {
            "name": "f",
            "kind": "git_basic",
            "host": "git.example.com",
            "username": "a:b",
            "secret": "pw",
        }

        response = api.post(URL, data, format="json")

        assert response.status_code == 400
        assert "username" in body(response)["details"]


class TestGitHubApp:
    def test_an_app_is_stored_with_its_key_fingerprint(self, api, credential_keys, app_private_key):
        data = {"name": "bot", "kind": "github_app", "app_id": 1234, "private_key": app_private_key}

        response = api.post(URL, data, format="json")

        assert response.status_code == 201, response.content
        shown = body(response)
        assert shown["app_id"] == 1234
        assert shown["installation_id"] is None
        assert shown["fingerprint"].startswith("SHA256:")
        assert "PRIVATE KEY" not in response.content.decode()
        stored = Credential.objects.get(pk=shown["id"])
        assert open_secret(stored).reveal() == app_private_key

    @pytest.mark.parametrize(
        "pem, words",
        [
            ("not a key", "PEM"),
            ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "readable"),
        ],
    )
    def test_a_malformed_key_is_a_clear_400(self, api, credential_keys, pem, words):
        data = {"name": "bot", "kind": "github_app", "app_id": 1, "private_key": pem}

        response = api.post(URL, data, format="json")

        assert response.status_code == 400
        assert words in body(response)["details"]["private_key"][0]
        assert not Credential.objects.exists()

    def test_keys_github_never_issues_are_refused(self, api, credential_keys):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        ec_pem = (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
        small = new_app_key(bits=1024)
        for pem, words in [(ec_pem, "RSA"), (small, "1024 bits")]:
            data = {"name": "bot", "kind": "github_app", "app_id": 1, "private_key": pem}
            response = api.post(URL, data, format="json")
            assert response.status_code == 400
            assert words in body(response)["details"]["private_key"][0]

    def test_an_encrypted_key_is_refused(self, api, credential_keys, app_private_key):
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(app_private_key.encode(), password=None)
        encrypted = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass"),
        ).decode()
        data = {"name": "bot", "kind": "github_app", "app_id": 1, "private_key": encrypted}

        response = api.post(URL, data, format="json")

        assert response.status_code == 400
        assert "encrypted" in body(response)["details"]["private_key"][0]

    def test_an_app_needs_its_id_and_takes_its_key_as_private_key(self, api, credential_keys):
        missing = api.post(URL, {"name": "bot", "kind": "github_app"}, format="json")
        misplaced = api.post(
            URL, {"name": "bot", "kind": "github_app", "app_id": 1, "secret": "x"}, format="json"
        )

        assert missing.status_code == misplaced.status_code == 400
        assert set(body(missing)["details"]) == {"app_id", "private_key"}
        assert set(body(misplaced)["details"]) == {"secret"}


def test_deleting_a_credential_takes_it_off_its_collections(api, user, credential_keys):
    credential = make_credential(user, secret=TOKEN)
    collection = api.post(
        "/api/v1/collections/", {"name": "c", "credentials": [str(credential.pk)]}, format="json"
    ).json()

    assert api.delete(f"{URL}{credential.pk}/").status_code == 204

    assert api.get(f"/api/v1/collections/{collection['id']}/").json()["credentials"] == []


def test_keys_that_are_not_fernet_keys_stop_the_site_without_showing_them(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from skillmeat_site.env import env_fernet_keys

    good = Fernet.generate_key().decode()
    monkeypatch.setenv("CREDENTIAL_KEYS", f"{good},not-a-key-but-a-secret-value")

    with pytest.raises(ImproperlyConfigured) as raised:
        env_fernet_keys("CREDENTIAL_KEYS")

    assert "key 2 of 2" in str(raised.value)
    assert "not-a-key-but-a-secret-value" not in str(raised.value)
    assert good not in str(raised.value)
    monkeypatch.setenv("CREDENTIAL_KEYS", f" {good} ,")
    assert env_fernet_keys("CREDENTIAL_KEYS") == [good]
