"""No secret anywhere: one scenario with known secrets, and every output searched for them.

The scenario stores a GitHub token, a GitHub App (whose installation token the site mints) and a
git login through the API; refreshes with them (one token revoked, to have refusals too), through
both read plans' client; discovers, tries each credential, exports, notifies, and fails one run
on an unexpected error. Then the API answers, the admin pages, the logs at DEBUG in both formats,
the database rows of runs, entries, notifications, quotas and cached answers, the export, the
notification bodies, and what an error tracker captures of the failed run's traceback (every
frame's local variables) are searched for every secret, plain and in its base64 forms.
"""

import base64
import io
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from django.core import serializers
from django.core.signals import got_request_exception
from django.test import Client

from collections_app.models import Collection, Credential
from refresher.models import (
    GitHubAppInstallation,
    GitHubQuota,
    HttpCacheEntry,
    NotificationDelivery,
    RefreshEntry,
    RefreshRun,
)
from refresher.secrets import secret_box
from skillmeat_site.logs import JsonFormatter, LogContextFilter
from tests.credentials_support import new_app_key
from tests.factories import ArtifactFactory
from tests.git.https_host import Seen, git_host_handler, make_certificate, needs_openssl, serve_tls
from tests.gitrepo import LocalRepo
from tests.upstream import fixture_text
from tests.webhooks.payloads import SECRET, commit, deliver, push

pytestmark = [pytest.mark.django_db, needs_openssl]

TOKEN = "ghp_ScenarioTokenNeverToBeSeen0000001"
REVOKED = "ghp_ScenarioTokenRevokedSoon0000002"
PASSWORD = "Scenario-git-password-never-seen-3"
APP_ID = 5150
CREDENTIALS = "/api/v1/credentials/"
LOGGERS = ("refresher", "collections_app", "skillmeat_site", "django", "httpx", "httpcore")


def forms(secret: str) -> set[str]:
    """A secret and the forms it would travel in: base64 alone, and in Basic authentication."""
    found = {secret, base64.b64encode(secret.encode()).decode()}
    found.add(base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="))
    found.add(base64.b64encode(f"ci-bot:{secret}".encode()).decode())
    return found


@pytest.fixture
def logs() -> Iterator[dict[str, io.StringIO]]:
    """Every log record at DEBUG, written as the site writes it: plain and JSON lines."""
    streams = {"plain": io.StringIO(), "json": io.StringIO()}
    handlers = []
    for name, stream in streams.items():
        handler = logging.StreamHandler(stream)
        handler.addFilter(LogContextFilter())
        handler.setFormatter(
            JsonFormatter()
            if name == "json"
            else logging.Formatter("%(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
        handlers.append(handler)
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    root = logging.getLogger()
    for handler in handlers:
        root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield streams
    for handler in handlers:
        root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def tracked() -> Iterator[list[str]]:
    """What an error tracker hooked on Django's signal captures: tracebacks with their locals."""
    captured: list[str] = []

    def capture(sender: object, **kwargs: object) -> None:
        error = sys.exc_info()[1]
        if error is not None:
            exception = traceback.TracebackException.from_exception(error, capture_locals=True)
            captured.append("".join(exception.format()))

    got_request_exception.connect(capture)
    yield captured
    got_request_exception.disconnect(capture)


@pytest.fixture
def forge(tmp_path_factory, settings):
    root = tmp_path_factory.mktemp("forge")
    repo = LocalRepo(root / "team" / "kit.git")
    repo.commit({"skills/pdf/SKILL.md": "---\ndescription: Forge pdf\n---\n"}, "initial")
    certificate = make_certificate(tmp_path_factory.mktemp("tls"))
    handler = git_host_handler(root, username="ci-bot", password=PASSWORD, seen=Seen())
    with serve_tls(handler, certificate) as server:
        host = f"127.0.0.1:{server.server_address[1]}"
        settings.GIT_ALLOWED_HOSTS = [host]
        settings.GIT_SSL_CA_BUNDLE = str(certificate.cert)
        settings.GIT_CACHE_DIR = tmp_path_factory.mktemp("gitcache")
        yield host


@pytest.fixture
def upstream(github):
    github.add_repo(
        "acme/private-kit",
        files={"skills/pdf/SKILL.md": fixture_text("skill-pdf.md")},
        private=True,
    )
    github.add_repo("beta/app-kit", files={"skills/x/SKILL.md": "---\ndescription: X\n---\n"})
    github.add_token(TOKEN, login="alice", private=["acme/private-kit"])
    github.add_token(REVOKED, login="alice")
    return github


class Scenario:
    """The API calls of the scenario; every answer is kept to be searched."""

    def __init__(self, api, upstream, forge: str, notify_url: str) -> None:
        self.api, self.upstream, self.forge, self.notify_url = api, upstream, forge, notify_url
        self.answers: list[str] = []
        self.app_key = new_app_key()

    def call(self, method: str, path: str, body: object = None) -> dict:
        response = getattr(self.api, method)(path, body, format="json")
        self.answers.append(response.content.decode())
        return response.json() if response.content else {}

    def store_credentials(self) -> dict[str, dict]:
        public = (
            serialization.load_pem_private_key(self.app_key.encode(), password=None)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.upstream.add_app(APP_ID, public, slug="kit-reader")
        self.upstream.install_app(APP_ID, "beta")
        bodies = {
            "token": {"kind": "github_token", "secret": TOKEN},
            "revoked": {"kind": "github_token", "secret": REVOKED},
            "app": {"kind": "github_app", "app_id": APP_ID, "private_key": self.app_key},
            "login": {
                "kind": "git_basic",
                "host": self.forge,
                "username": "ci-bot",
                "secret": PASSWORD,
            },
        }
        made = {n: self.call("post", CREDENTIALS, {"name": n, **b}) for n, b in bodies.items()}
        # A name taken: the 409 must not echo what was sent with it.
        self.call("post", CREDENTIALS, {"name": "token", **bodies["token"]})
        return made

    def collection(self, name: str, credentials: list[dict], sources: dict[str, str]) -> str:
        body = {"name": name, "credentials": [c["id"] for c in credentials]}
        if name == "team":
            body |= {"notify_url": self.notify_url, "notify_secret": "n-secret",
                     "refresh_on_push": True, "auto_refresh_mode": "sync"}  # fmt: skip
        made = self.call("post", "/api/v1/collections/", body)
        collection = Collection.objects.get(pk=made["id"])
        for artifact, source in sources.items():
            ArtifactFactory(collection=collection, name=artifact, source=source)
        return made["id"]

    def use(self, credentials: dict[str, dict], team: str, old: str) -> None:
        self.call("post", f"/api/v1/collections/{team}/refresh", {"mode": "sync"})
        self.call("post", f"/api/v1/collections/{old}/refresh", {})
        discover = {"source": "acme/private-kit", "dry_run": True}
        self.call("post", f"/api/v1/collections/{team}/discover", discover)
        for credential in credentials.values():
            self.call("post", f"{CREDENTIALS}{credential['id']}/test", {})
            self.call("get", f"{CREDENTIALS}{credential['id']}/")
        self.call("get", CREDENTIALS)
        self.call("get", f"/api/v1/refresh-runs/?collection={team}")
        self.answers.append(self.api.get(f"/api/v1/collections/{team}/export").content.decode())
        self.answers.append(self.api.get("/healthz").content.decode())

    def push(self, settings, on_commit) -> None:
        """A push run of the private repository, which notifies the team's URL."""
        settings.GITHUB_WEBHOOK_SECRET = SECRET
        changed = {"skills/pdf/SKILL.md": "---\ndescription: New\n---\n"}
        self.upstream.commit("acme/private-kit", files=changed)
        payload = push(full_name="acme/private-kit", commits=[commit(modified=[*changed])])
        with on_commit(execute=True):
            self.answers.append(deliver(payload).content.decode())

    def fail(self, collection: str, monkeypatch) -> None:
        """An unexpected error in the middle of a request carrying the token: a 500."""

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the network library broke")

        monkeypatch.setattr(httpx.Client, "request", broken)
        self.api.raise_request_exception = False  # answered as a real server would
        failed = self.api.post(f"/api/v1/collections/{collection}/refresh", {}, format="json")
        monkeypatch.undo()
        assert failed.status_code == 500
        self.answers.append(failed.content.decode())


def admin_pages(admin_client: Client, credentials: dict[str, dict], team: str) -> list[str]:
    paths = [
        "/admin/collections_app/credential/",
        *(f"/admin/collections_app/credential/{c['id']}/change/" for c in credentials.values()),
        f"/admin/collections_app/collection/{team}/change/",
        *(f"/admin/refresher/refreshrun/{r.pk}/change/" for r in RefreshRun.objects.all()),
        "/admin/refresher/githubappinstallation/",
    ]
    return [admin_client.get(path).content.decode() for path in paths]


def stored_rows(git_cache: Path) -> dict[str, str]:
    models = [RefreshRun, RefreshEntry, NotificationDelivery, GitHubQuota, HttpCacheEntry]
    rows = serializers.serialize("json", [row for m in models for row in m.objects.all()])
    notifications = [str(r.body) for r in NotificationDelivery.objects.all()]
    files = [p.read_bytes().decode("latin-1") for p in git_cache.rglob("*") if p.is_file()]
    return {
        "database": rows,
        "notifications": "\n".join(notifications),
        "git cache": "\n".join(files),
    }


def every_secret(app_key: str) -> list[str]:
    minted = [
        secret_box().open(row.token_encrypted).reveal()
        for row in GitHubAppInstallation.objects.exclude(token_encrypted="")
    ]
    assert minted, "the App's installation token was minted and kept"
    sealed = list(Credential.objects.values_list("secret_encrypted", flat=True))
    key_lines = [line for line in app_key.splitlines() if "KEY" not in line and len(line) > 40]
    return [TOKEN, REVOKED, PASSWORD, *minted, *sealed, *key_lines]


def test_no_secret_reaches_any_output(
    upstream, forge, api, user, admin_client: Client, credential_keys, settings, logs, tracked,
    httpserver, django_capture_on_commit_callbacks, monkeypatch,
):  # fmt: skip
    settings.NOTIFY_ALLOW_PRIVATE = True
    httpserver.expect_request("/notify").respond_with_data("ok")
    scenario = Scenario(api, upstream, forge, httpserver.url_for("/notify"))
    credentials = scenario.store_credentials()
    team = scenario.collection(
        "team",
        [credentials["app"], credentials["token"], credentials["login"]],
        {
            "pdf": "acme/private-kit/skills/pdf",
            "x": "beta/app-kit/skills/x",
            "forge": f"git+https://{forge}/team/kit.git//skills/pdf",
        },
    )
    private = {"pdf": "acme/private-kit/skills/pdf"}
    old = scenario.collection("old", [credentials["revoked"]], private)
    plain = scenario.collection("plain", [credentials["token"]], private)
    upstream.revoke_token(REVOKED)

    scenario.use(credentials, team, old)
    scenario.push(settings, django_capture_on_commit_callbacks)
    scenario.fail(plain, monkeypatch)

    assert NotificationDelivery.objects.exists()
    assert tracked and "in _send" in tracked[-1], "the tracker saw the frame sending the token"
    outputs = {
        "answers": "\n".join(scenario.answers),
        "admin": "\n".join(admin_pages(admin_client, credentials, team)),
        "logs (plain)": logs["plain"].getvalue(),
        "logs (json)": logs["json"].getvalue(),
        "tracebacks": "\n".join(tracked),
        **stored_rows(Path(settings.GIT_CACHE_DIR)),
    }
    assert "refresh" in outputs["logs (json)"] and "GET /repos" in outputs["logs (plain)"]
    leaks = [
        (where, form[:12] + "…")
        for secret in every_secret(scenario.app_key)
        for form in forms(secret)
        for where, text in outputs.items()
        if form in text
    ]
    assert leaks == []
