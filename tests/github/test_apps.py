"""GitHub Apps: the JWT GitHub asks for, finding installations, minting and keeping tokens.

The server on loopback plays GitHub's App endpoints as its REST reference describes them: it
checks each JWT against the app's public key (RS256, `iss`, `iat`, at most ten minutes of life)
and answers 401 with GitHub's message when it cannot.
"""

import json
import time
from datetime import UTC, datetime, timedelta
from itertools import count

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from werkzeug import Request, Response

from refresher.exceptions import AppKeyError
from refresher.secrets import Secret, SecretBox
from refresher.upstream.github.app_keys import app_jwt, key_fingerprint, load_private_key
from refresher.upstream.github.apps import GitHubApp, Installation
from refresher.upstream.github.client import GitHubClient, GitHubError
from refresher.upstream.github.installations import DatabaseInstallationStore
from tests.credentials_support import make_credential

APP_ID = 31337


class AppServer:
    """GitHub's App endpoints for one app, installed on `acme` (installation 77)."""

    def __init__(self, httpserver, public_pem: bytes) -> None:
        self.server = httpserver
        self.public_pem = public_pem
        self.installations = {"acme": 77}
        self.minted: list[str] = []
        self.refuse_token: set[str] = set()
        self.lifetime = timedelta(hours=1)
        self._serial = count(1)
        httpserver.expect_request("/repos/acme/private/installation").respond_with_handler(
            self.repo_installation
        )
        httpserver.expect_request("/repos/solo/tools/installation").respond_with_handler(
            self.repo_installation
        )
        httpserver.expect_request("/app/installations/77").respond_with_handler(self.installation)
        httpserver.expect_request(
            "/app/installations/77/access_tokens", method="POST"
        ).respond_with_handler(self.access_token)

    def check_jwt(self, request: Request) -> Response | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                token,
                self.public_pem,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError:
            return _error(401, "A JSON web token could not be decoded")
        now = time.time()
        if claims["exp"] - now > 600:
            return _error(401, "'Expiration time' claim ('exp') is too far in the future")
        if claims["iat"] > now:
            return _error(401, "'Issued at' claim ('iat') must be an Integer representing the time")
        if str(claims["iss"]) != str(APP_ID):
            return _error(401, "'Issuer' claim ('iss') must be an Integer")
        return None

    def repo_installation(self, request: Request) -> Response:
        if refused := self.check_jwt(request):
            return refused
        owner = request.path.split("/")[2]
        if owner not in self.installations:
            return _error(404, "Not Found")
        return _json(200, _installation(self.installations[owner], owner))

    def installation(self, request: Request) -> Response:
        return self.check_jwt(request) or _json(200, _installation(77, "acme"))

    def access_token(self, request: Request) -> Response:
        if refused := self.check_jwt(request):
            return refused
        token = f"ghs_minted{next(self._serial):04d}"
        self.minted.append(token)
        expires = datetime.now(UTC) + self.lifetime
        return _json(
            201,
            {
                "token": token,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": {"contents": "read", "metadata": "read"},
                "repository_selection": "all",
            },
        )


def _installation(ident: int, owner: str) -> dict:
    return {
        "id": ident,
        "account": {"login": owner.capitalize(), "id": 1, "type": "Organization"},
        "app_id": APP_ID,
        "target_type": "Organization",
        "repository_selection": "all",
        "permissions": {"contents": "read", "metadata": "read"},
    }


def _json(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json(status, {"message": message, "documentation_url": "https://docs.github.com/rest"})


@pytest.fixture
def key(app_private_key):
    return load_private_key(Secret(app_private_key))


@pytest.fixture
def github_apps(httpserver, key) -> AppServer:
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return AppServer(httpserver, public)


@pytest.fixture
def connect(httpserver):
    def build(bearer: Secret) -> GitHubClient:
        return GitHubClient(
            base_url=httpserver.url_for("/"), token=bearer.reveal(), max_retries=0, timeout=5
        )

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

    installation = app.installation_for("ACME", "private")

    assert installation == Installation(77, "acme")
    assert app.token(77) == Secret("ghs_minted0001")
    assert app.token(77) == Secret("ghs_minted0001")  # kept, not minted again
    assert github_apps.minted == ["ghs_minted0001"]


def test_an_owner_without_the_app_is_not_covered_and_asked_once(
    github_apps, httpserver, app_private_key, connect
):
    app = make_app(app_private_key, connect)

    assert app.installation_for("solo", "tools") is None
    assert app.installation_for("solo", "tools") is None

    asked = [r for r, _ in httpserver.log if r.path == "/repos/solo/tools/installation"]
    assert len(asked) == 1


def test_a_named_installation_covers_its_own_account_only(github_apps, app_private_key, connect):
    app = make_app(app_private_key, connect, installation_id=77)

    assert app.installation_for("acme", "anything") == Installation(77, "acme")
    assert app.installation_for("other", "repo") is None


def test_a_token_is_not_used_in_its_last_five_minutes(github_apps, app_private_key, connect):
    github_apps.lifetime = timedelta(minutes=4)
    app = make_app(app_private_key, connect)

    first = app.token(77)
    second = app.token(77)

    assert first != second
    assert github_apps.minted == ["ghs_minted0001", "ghs_minted0002"]


def test_a_refused_token_is_minted_again_once(github_apps, app_private_key, connect):
    app = make_app(app_private_key, connect)
    first = app.token(77)

    renewed = app.renew(77, first)

    assert renewed == Secret("ghs_minted0002")
    assert app.renew(77, first) == renewed  # a thread that saw the old one gets the new one
    assert app.renew(77, renewed) is None  # once per run
    assert len(github_apps.minted) == 2


def test_a_key_github_refuses_is_an_unauthorized_error(github_apps, connect):
    from tests.credentials_support import new_app_key

    app = make_app(new_app_key(), connect)  # not the key GitHub has for the app

    with pytest.raises(GitHubError) as raised:
        app.installation_for("acme", "private")

    assert raised.value.code == "upstream_unauthorized"
    assert "JSON web token could not be decoded" in raised.value.message


def test_an_unusable_key_is_an_unauthorized_error_without_a_request(httpserver, connect):
    app = make_app(
        "-----BEGIN RSA PRIVATE KEY-----\nbroken\n-----END RSA PRIVATE KEY-----", connect
    )

    with pytest.raises(GitHubError) as raised:
        app.token(77)

    assert raised.value.code == "upstream_unauthorized"
    assert "private key cannot be used" in raised.value.message
    assert httpserver.log == []


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
    first = make_app(app_private_key, connect, store=DatabaseInstallationStore(credential.pk, box))
    first.prepare()
    first.installation_for("acme", "private")
    token = first.token(77)
    first.flush()

    row = credential.installations.get()
    assert row.account == "acme"
    assert token.reveal() not in row.token_encrypted

    later = make_app(app_private_key, connect, store=DatabaseInstallationStore(credential.pk, box))
    later.prepare()
    assert later.installation_for("acme", "private") == Installation(
        77, "acme", token, row.expires_at
    )
    assert later.token(77) == token
    assert github_apps.minted == [token.reveal()]


def test_the_app_object_shows_no_key():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nsecret\n-----END RSA PRIVATE KEY-----"
    app = GitHubApp(app_id=1, private_key=Secret(pem), connect=lambda bearer: None)  # type: ignore[arg-type,return-value]
    assert "secret" not in repr(app) and "secret" not in repr(vars(app))
