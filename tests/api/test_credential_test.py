"""`POST /api/v1/credentials/{id}/test`: upstream is asked whether it takes the credential."""

import pytest
from cryptography.hazmat.primitives import serialization

from tests.credentials_support import make_credential, new_app_key

pytestmark = pytest.mark.django_db

TOKEN = "ghp_AliceReadsTheTeamRepos000000001"
APP_ID = 9090


@pytest.fixture
def upstream(github, app_private_key):
    github.add_repo("acme/private-kit", files={"README.md": "# kit\n"}, private=True)
    github.add_repo("other/closed", files={"README.md": "# no\n"}, private=True)
    github.add_token(TOKEN, login="alice", private=["acme/private-kit"])
    key = serialization.load_pem_private_key(app_private_key.encode(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    github.add_app(APP_ID, public.decode(), slug="kit-reader")
    github.installation = github.install_app(APP_ID, "acme")
    return github


def try_it(api, credential, body=None):
    return api.post(f"/api/v1/credentials/{credential.pk}/test", body or {}, format="json")


def test_a_token_says_whose_it_is(api, user, upstream, credential_keys):
    credential = make_credential(user, secret=TOKEN)

    answer = try_it(api, credential)

    assert answer.status_code == 200
    assert answer.json() == {
        "ok": True,
        "login": "alice",
        "app": None,
        "detail": "GitHub knows the token as alice.",
    }
    credential.refresh_from_db()
    assert credential.last_used_at is not None


def test_a_token_tried_on_a_repository(api, user, upstream, credential_keys):
    credential = make_credential(user, secret=TOKEN)

    readable = try_it(api, credential, {"source": "acme/private-kit/skills"}).json()
    closed = try_it(api, credential, {"source": "https://github.com/other/closed"}).json()

    assert readable["ok"] is True and "acme/private-kit (private)" in readable["detail"]
    assert closed["ok"] is False and "cannot read other/closed" in closed["detail"]


def test_a_revoked_token_is_not_ok_and_its_secret_is_not_said(api, user, upstream, credential_keys):
    credential = make_credential(user, secret=TOKEN)
    upstream.revoke_token(TOKEN)

    answer = try_it(api, credential)

    assert answer.status_code == 200
    assert answer.json()["ok"] is False
    assert "Bad credentials" in answer.json()["detail"]
    assert TOKEN not in answer.content.decode()
    credential.refresh_from_db()
    assert credential.last_used_at is None


def test_an_app_says_its_slug_and_mints_for_its_installation(
    api, user, upstream, credential_keys, app_private_key
):
    app = make_credential(
        user,
        kind="github_app",
        app_id=APP_ID,
        installation_id=upstream.installation,
        secret=app_private_key,
    )

    answer = try_it(api, app, {"source": "acme/private-kit"}).json()

    assert answer["ok"] is True and answer["app"] == "kit-reader" and answer["login"] is None
    assert "acme/private-kit (private)" in answer["detail"]
    assert upstream.minted_tokens() == [upstream.installation]
    elsewhere = try_it(api, app, {"source": "other/closed"}).json()
    assert elsewhere["ok"] is False and "not installed on other" in elsewhere["detail"]


def test_an_app_key_github_refuses_is_not_ok(api, user, upstream, credential_keys):
    app = make_credential(user, kind="github_app", app_id=APP_ID, secret=new_app_key())

    answer = try_it(api, app).json()

    assert answer["ok"] is False
    assert "A JSON web token could not be decoded" in answer["detail"]
    assert "PRIVATE KEY" not in str(answer)


def test_a_source_that_is_not_one_is_a_400(api, user, upstream, credential_keys):
    credential = make_credential(user, secret=TOKEN)

    answer = try_it(api, credential, {"source": "not a/source at all@"})
    unknown = try_it(api, credential, {"sorce": "acme/private-kit"})

    assert answer.status_code == unknown.status_code == 400
    assert "source" in answer.json()["details"]
    assert "sorce" in unknown.json()["details"]


def test_another_users_credential_cannot_be_tried(other_api, user, upstream, credential_keys):
    credential = make_credential(user, secret=TOKEN)

    assert try_it(other_api, credential).status_code == 404
    assert upstream.requests == []
