"""The GitHub fake's tokens and Apps, as GitHub documents them, spoken to over plain HTTP.

What the site relies on for private repositories must hold in the fake exactly as on GitHub: a
private repository is a 404 (REST) or NOT_FOUND (GraphQL) to a token that may not read it, a
revoked token is 401 with GitHub's body, an App's JWT is checked against its public key and its
time claims, installation tokens read their installation's repositories until they expire, and
every token and installation has its own rate limit.
"""

import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from fakegithub import FakeGitHub
from tests.credentials_support import new_app_key

APP_ID = 4242
QUERY = "query($o: String!, $n: String!) { repository(owner: $o, name: $n) { isPrivate } }"


@pytest.fixture(scope="module")
def app_key() -> str:
    return new_app_key()


@pytest.fixture
def fake(app_key):
    with FakeGitHub() as fake:
        fake.add_repo("acme/secret", files={"README.md": "# private\n"}, private=True)
        fake.add_repo("acme/open", files={"README.md": "# public\n"})
        fake.add_repo("other/secret", files={"README.md": "# theirs\n"}, private=True)
        fake.add_token("ghp_alice", login="alice", private=["acme/secret"], rate_limit=100)
        fake.add_token("ghp_bob", login="bob")
        public = (
            serialization.load_pem_private_key(app_key.encode(), password=None)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        fake.add_app(APP_ID, public, slug="skill-reader", owner="acme")
        yield fake


def get(fake: FakeGitHub, path: str, token: str = "", **headers: str) -> httpx.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(fake.url + path, headers=headers)


def graphql(fake: FakeGitHub, token: str, full_name: str) -> dict:
    owner, name = full_name.split("/")
    response = httpx.post(
        fake.url + "/graphql",
        json={"query": QUERY, "variables": {"o": owner, "n": name}},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()


def app_jwt(app_key: str, *, issued: float | None = None, expires: float | None = None) -> str:
    now = time.time()
    claims = {
        "iat": int(issued if issued is not None else now - 60),
        "exp": int(expires if expires is not None else now + 540),
        "iss": str(APP_ID),
    }
    return jwt.encode(claims, app_key, algorithm="RS256")


def test_a_private_repository_is_a_404_to_a_token_that_may_not_read_it(fake):
    assert get(fake, "/repos/acme/secret", fake.token).json()["private"] is True
    assert get(fake, "/repos/acme/secret", "ghp_alice").status_code == 200
    assert get(fake, "/repos/acme/secret", "ghp_bob").status_code == 404
    assert get(fake, "/repos/acme/secret").status_code == 404
    assert get(fake, "/repos/acme/secret/git/ref/heads/main", "ghp_bob").status_code == 404
    assert get(fake, "/repos/acme/open", "ghp_bob").json()["private"] is False


def test_a_validator_from_a_token_that_could_read_it_gets_a_404_not_a_304(fake):
    etag = get(fake, "/repos/acme/secret", "ghp_alice").headers["ETag"]

    assert (
        get(fake, "/repos/acme/secret", "ghp_alice", **{"If-None-Match": etag}).status_code == 304
    )
    assert get(fake, "/repos/acme/secret", "ghp_bob", **{"If-None-Match": etag}).status_code == 404


def test_graphql_hides_a_private_repository_as_not_found(fake):
    assert graphql(fake, "ghp_alice", "acme/secret")["data"]["repository"] == {"isPrivate": True}
    hidden = graphql(fake, "ghp_bob", "acme/secret")
    assert hidden["data"]["repository"] is None
    assert hidden["errors"][0]["type"] == "NOT_FOUND"
    assert graphql(fake, "ghp_bob", "acme/open")["data"]["repository"] == {"isPrivate": False}


def test_a_revoked_token_is_401_bad_credentials_in_githubs_shape(fake):
    fake.revoke_token("ghp_alice")

    rest = get(fake, "/repos/acme/open", "ghp_alice")
    query = httpx.post(
        fake.url + "/graphql",
        json={"query": QUERY, "variables": {"o": "acme", "n": "open"}},
        headers={"Authorization": "Bearer ghp_alice"},
    )

    assert rest.status_code == query.status_code == 401
    assert rest.json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }
    assert query.json()["message"] == "Bad credentials"


def test_get_user_names_the_tokens_owner(fake):
    assert get(fake, "/user", "ghp_alice").json()["login"] == "alice"
    assert get(fake, "/user").status_code == 401


def test_every_token_has_its_own_rate_limit(fake):
    site_before = fake.rate_limit_remaining

    answer = get(fake, "/repos/acme/open", "ghp_alice")

    assert answer.headers["X-RateLimit-Limit"] == "100"
    assert answer.headers["X-RateLimit-Remaining"] == "99"
    assert fake.remaining_for("ghp_alice") == 99
    assert fake.rate_limit_remaining == site_before


class TestApps:
    def test_the_app_authenticates_with_its_jwt(self, fake, app_key):
        answer = get(fake, "/app", app_jwt(app_key))

        assert answer.status_code == 200
        assert (answer.json()["id"], answer.json()["slug"]) == (APP_ID, "skill-reader")

    @pytest.mark.parametrize(
        "claims, message",
        [
            ({"expires": 3600}, "too far in the future"),
            ({"expires": -10}, "must be a numeric value representing the future"),
            ({"issued": 600}, "'Issued at' claim"),
        ],
    )
    def test_a_jwt_outside_githubs_time_rules_is_refused(self, fake, app_key, claims, message):
        # Seconds from now, read when the test runs (not when the suite was collected).
        now = time.time()
        answer = get(fake, "/app", app_jwt(app_key, **{k: now + v for k, v in claims.items()}))

        assert answer.status_code == 401
        assert message in answer.json()["message"]

    def test_a_jwt_signed_by_another_key_is_refused(self, fake):
        answer = get(fake, "/app", app_jwt(new_app_key()))

        assert answer.status_code == 401
        assert answer.json()["message"] == "A JSON web token could not be decoded"

    def test_installations_are_found_per_repository_and_mint_tokens(self, fake, app_key):
        installation = fake.install_app(APP_ID, "acme")
        bearer = app_jwt(app_key)

        found = get(fake, "/repos/acme/secret/installation", bearer)
        assert found.status_code == 200
        assert found.json()["id"] == installation
        assert found.json()["account"]["login"] == "acme"
        assert get(fake, "/repos/other/secret/installation", bearer).status_code == 404

        minted = httpx.post(
            f"{fake.url}/app/installations/{installation}/access_tokens",
            headers={"Authorization": f"Bearer {bearer}"},
        )
        assert minted.status_code == 201
        token = minted.json()["token"]
        assert minted.json()["expires_at"].endswith("Z")
        assert get(fake, "/repos/acme/secret", token).status_code == 200
        assert get(fake, "/repos/other/secret", token).status_code == 404
        listed = get(fake, "/installation/repositories", token).json()
        assert [r["full_name"] for r in listed["repositories"]] == ["acme/open", "acme/secret"]
        assert get(fake, "/user", token).status_code == 403

    def test_an_installation_on_selected_repositories_reads_those_only(self, fake, app_key):
        installation = fake.install_app(APP_ID, "acme", repositories=["acme/open"])
        bearer = app_jwt(app_key)

        assert get(fake, "/repos/acme/secret/installation", bearer).status_code == 404
        minted = httpx.post(
            f"{fake.url}/app/installations/{installation}/access_tokens",
            headers={"Authorization": f"Bearer {bearer}"},
        )
        assert get(fake, "/repos/acme/secret", minted.json()["token"]).status_code == 404

    def test_installation_tokens_expire_have_their_own_hour_and_can_be_revoked(self, fake, app_key):
        installation = fake.install_app(APP_ID, "acme", rate_limit=12500)
        url = f"{fake.url}/app/installations/{installation}/access_tokens"
        bearer = {"Authorization": f"Bearer {app_jwt(app_key)}"}
        token = httpx.post(url, headers=bearer).json()["token"]

        answer = get(fake, "/repos/acme/secret", token)
        assert answer.headers["X-RateLimit-Limit"] == "12500"

        fake.revoke_installation_tokens(installation)
        assert get(fake, "/repos/acme/secret", token).status_code == 401

        fake.app_token_lifetime = -1  # minted already expired
        stale = httpx.post(url, headers=bearer).json()["token"]
        assert get(fake, "/repos/acme/open", stale).status_code == 401
