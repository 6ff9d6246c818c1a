"""GitHub Apps: the JWT GitHub asks for, finding installations, minting and keeping tokens.

Against the GitHub fake, which checks each JWT against the App's public key (RS256, `iss`,
`iat`, at most ten minutes of life) and answers 401 with GitHub's message when it cannot.
"""

import time
from dataclasses import dataclass

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from fakegithub import FakeGitHub
from refresher.exceptions import AppKeyError
from refresher.secrets import Secret, SecretBox
from refresher.upstream.github.app_keys import app_jwt, key_fingerprint, load_private_key
from refresher.upstream.github.apps import GitHubApp, Installation, InstallationToken
from refresher.upstream.github.client import GitHubClient, GitHubError
from refresher.upstream.github.installations import DatabaseInstallationStore
from tests.credentials_support import make_credential

APP_ID = 31337


@pytest.fixture
def key(app_private_key):
    return load_private_key(Secret(app_private_key))


@dataclass
class Apps:
    fake: FakeGitHub
    installation: int  # the App's installation on `acme`


@pytest.fixture
def github_apps(key):
    """The fake with the App registered (by its public key) and installed on `acme`."""
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with FakeGitHub() as fake:
        fake.add_repo("acme/private", files={"README.md": "#\n"}, private=True)
        fake.add_repo("solo/tools", files={"README.md": "#\n"})
        fake.add_app(APP_ID, public.decode(), slug="reader")
        yield Apps(fake, fake.install_app(APP_ID, "acme"))


@pytest.fixture
def connect(github_apps):
    def build(bearer: Secret) -> GitHubClient:
        url = github_apps.fake.url
        return GitHubClient(base_url=url, token=bearer.reveal(), max_retries=0)

    return build


def make_app(app_private_key, connect, **options) -> GitHubApp:
    return GitHubApp(app_id=APP_ID, private_key=Secret(app_private_key), connect=connect, **options)


def test_the_jwt_carries_what_github_asks_for(key):
    now = time.time()

    token, expires = app_jwt(APP_ID, key, now=now)

    claims = jwt.decode(token.reveal(), key.public_key(), algorithms=["RS256"])
    assert jwt.get_unverified_header(token.reveal())["alg"] == "RS256"
    assert claims["iss"] == str(APP_ID)
    assert claims["iat"] == int(now) - 60
    assert 0 < claims["exp"] - now <= 600
    assert expires == claims["exp"]


def test_the_fingerprint_is_githubs_sha256_of_the_public_key(key):
    fingerprint = key_fingerprint(key)

    assert fingerprint.startswith("SHA256:")
    assert len(fingerprint) == len("SHA256:") + 43  # 32 bytes of base64 without padding


def test_the_installation_of_a_repositorys_owner_is_found_and_its_token_minted(
    github_apps, app_private_key, connect
):
    app = make_app(app_private_key, connect)
    ident = github_apps.installation

    installation = app.installation_for("ACME", "private")
    token = app.token(ident)

    assert installation == Installation(ident, "acme")
    assert app.token(ident) == token  # kept, not minted again
    assert github_apps.fake.minted_tokens() == [ident]
    reading = GitHubClient(base_url=github_apps.fake.url, token=token.reveal(), max_retries=0)
    with reading:
        assert reading.get("/repos/acme/private").data["private"] is True


def test_an_owner_without_the_app_is_not_covered_and_asked_once(
    github_apps, app_private_key, connect
):
    app = make_app(app_private_key, connect)

    assert app.installation_for("solo", "tools") is None
    assert app.installation_for("solo", "tools") is None

    asked = [r for r in github_apps.fake.requests if r.path == "/repos/solo/tools/installation"]
    assert [r.status for r in asked] == [404]


def test_a_named_installation_covers_its_own_account_only(github_apps, app_private_key, connect):
    ident = github_apps.installation
    app = make_app(app_private_key, connect, installation_id=ident)

    assert app.installation_for("acme", "anything") == Installation(ident, "acme")
    assert app.installation_for("other", "repo") is None


def test_a_token_is_not_used_in_its_last_five_minutes(github_apps, app_private_key, connect):
    github_apps.fake.app_token_lifetime = 4 * 60
    app = make_app(app_private_key, connect)
    ident = github_apps.installation

    first = app.token(ident)
    second = app.token(ident)

    assert first != second
    assert github_apps.fake.minted_tokens() == [ident, ident]


def test_a_refused_token_is_minted_again_once(github_apps, app_private_key, connect):
    app = make_app(app_private_key, connect)
    ident = github_apps.installation
    first = app.token(ident)

    renewed = app.renew(ident, first)

    assert renewed is not None and renewed != first
    assert app.renew(ident, first) == renewed  # a thread that saw the old one gets the new one
    assert app.renew(ident, renewed) is None  # once per run
    assert len(github_apps.fake.minted_tokens()) == 2


def test_a_client_reading_as_an_installation_mints_again_once_after_a_401(
    github_apps, app_private_key, connect
):
    app = make_app(app_private_key, connect)
    ident = github_apps.installation
    client = GitHubClient(
        base_url=github_apps.fake.url, auth=InstallationToken(app, ident), max_retries=0
    )
    with client:
        assert client.get("/repos/acme/private").status == 200
        github_apps.fake.revoke_installation_tokens(ident)  # e.g. revoked before its time

        assert client.get("/repos/acme/private").status == 200  # a new token, once
        github_apps.fake.revoke_installation_tokens(ident)
        with pytest.raises(GitHubError) as refused:
            client.get("/repos/acme/private")
    assert refused.value.code == "upstream_unauthorized"
    assert len(github_apps.fake.minted_tokens()) == 2


def test_a_key_github_refuses_is_an_unauthorized_error(github_apps, connect):
    from tests.credentials_support import new_app_key

    app = make_app(new_app_key(), connect)  # not the key GitHub has for the app

    with pytest.raises(GitHubError) as raised:
        app.installation_for("acme", "private")

    assert raised.value.code == "upstream_unauthorized"
    assert "JSON web token could not be decoded" in raised.value.message


def test_an_unusable_key_is_an_unauthorized_error_without_a_request(github_apps, connect):
    app = make_app(
        "-----BEGIN RSA PRIVATE KEY-----\nbroken\n-----END RSA PRIVATE KEY-----", connect
    )

    with pytest.raises(GitHubError) as raised:
        app.token(github_apps.installation)

    assert raised.value.code == "upstream_unauthorized"
    assert "private key cannot be used" in raised.value.message
    assert github_apps.fake.requests == []


def test_a_malformed_key_is_explained_without_echoing_it():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END RSA PRIVATE KEY-----"
    with pytest.raises(AppKeyError) as raised:
        load_private_key(Secret(pem))
    assert "c2VjcmV0LWJ5dGVz" not in str(raised.value)


@pytest.mark.django_db
def test_installations_and_tokens_are_kept_for_the_next_run_encrypted(
    github_apps, app_private_key, connect, user, credential_keys
):
    credential = make_credential(user, kind="github_app", app_id=APP_ID, secret=app_private_key)
    box = SecretBox(credential_keys)
    ident = github_apps.installation
    first = make_app(app_private_key, connect, store=DatabaseInstallationStore(credential.pk, box))
    first.prepare()
    first.installation_for("acme", "private")
    token = first.token(ident)
    first.flush()

    row = credential.installations.get()
    assert row.account == "acme"
    assert token.reveal() not in row.token_encrypted

    later = make_app(app_private_key, connect, store=DatabaseInstallationStore(credential.pk, box))
    later.prepare()
    assert later.installation_for("acme", "private") == Installation(
        ident, "acme", token, row.expires_at
    )
    assert later.token(ident) == token
    assert github_apps.fake.minted_tokens() == [ident]


def test_the_app_object_shows_no_key():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nsecret\n-----END RSA PRIVATE KEY-----"
    app = GitHubApp(app_id=1, private_key=Secret(pem), connect=lambda bearer: None)  # type: ignore[arg-type,return-value]
    assert "secret" not in repr(app) and "secret" not in repr(vars(app))
