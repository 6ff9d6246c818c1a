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

pytestmark = [pytest.mark.django_db, needs_openssl]

TOKEN = "ghp_ScenarioTokenNeverToBeSeen0000001"
REVOKED = "ghp_ScenarioTokenRevokedSoon0000002"
PASSWORD = "Scenario-git-password-never-seen-3"
APP_ID = 5150
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


def test_no_secret_reaches_any_output(
    upstream,
    forge,
    api,
    user,
    admin_client: Client,
    credential_keys,
    settings,
    logs,
    tracked,
    httpserver,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    app_key = new_app_key()
    public = (
        serialization.load_pem_private_key(app_key.encode(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    upstream.add_app(APP_ID, public, slug="kit-reader")
    upstream.install_app(APP_ID, "beta")
    settings.NOTIFY_ALLOW_PRIVATE = True
    httpserver.expect_request("/notify").respond_with_data("ok")
    answers: list[str] = []

    def call(method: str, path: str, body: object = None) -> dict:
        response = getattr(api, method)(path, body, format="json")
        answers.append(response.content.decode())
        return response.json() if response.content else {}

    token = call(
        "post", "/api/v1/credentials/", {"name": "t", "kind": "github_token", "secret": TOKEN}
    )
    revoked = call(
        "post", "/api/v1/credentials/", {"name": "r", "kind": "github_token", "secret": REVOKED}
    )
    app = call(
        "post",
        "/api/v1/credentials/",
        {"name": "a", "kind": "github_app", "app_id": APP_ID, "private_key": app_key},
    )
    login = call(
        "post",
        "/api/v1/credentials/",
        {"name": "g", "kind": "git_basic", "host": forge, "username": "ci-bot", "secret": PASSWORD},
    )
    call("post", "/api/v1/credentials/", {"name": "t", "kind": "github_token", "secret": TOKEN})
    collection = call(
        "post",
        "/api/v1/collections/",
        {
            "name": "team",
            "credentials": [app["id"], token["id"], login["id"]],
            "notify_url": httpserver.url_for("/notify"),
            "notify_secret": "n-secret",
            "refresh_on_push": True,
            "auto_refresh_mode": "sync",
        },
    )
    kit = Collection.objects.get(pk=collection["id"])
    for name, source in [
        ("pdf", "acme/private-kit/skills/pdf"),
        ("x", "beta/app-kit/skills/x"),
        ("forge", f"git+https://{forge}/team/kit.git//skills/pdf"),
    ]:
        ArtifactFactory(collection=kit, name=name, source=source)
    refused = call("post", "/api/v1/collections/", {"name": "old", "credentials": [revoked["id"]]})
    ArtifactFactory(
        collection=Collection.objects.get(pk=refused["id"]),
        name="pdf",
        source="acme/private-kit/skills/pdf",
    )
    upstream.revoke_token(REVOKED)

    call("post", f"/api/v1/collections/{kit.pk}/refresh", {"mode": "sync"})
    call("post", f"/api/v1/collections/{refused['id']}/refresh", {})
    call(
        "post",
        f"/api/v1/collections/{kit.pk}/discover",
        {"source": "acme/private-kit", "dry_run": True},
    )
    for credential in (token, revoked, app, login):
        call("post", f"/api/v1/credentials/{credential['id']}/test", {})
        call("get", f"/api/v1/credentials/{credential['id']}/")
    call("get", "/api/v1/credentials/")
    call("get", f"/api/v1/refresh-runs/?collection={kit.pk}")
    answers.append(api.get(f"/api/v1/collections/{kit.pk}/export").content.decode())
    answers.append(api.get("/healthz").content.decode())
    # A scheduled-or-push kind of run notifies: the push of the private repository.
    from tests.webhooks.payloads import SECRET, commit, deliver, push

    settings.GITHUB_WEBHOOK_SECRET = SECRET
    payload = push(full_name="acme/private-kit", commits=[commit(modified=["skills/pdf/SKILL.md"])])
    upstream.commit(
        "acme/private-kit", files={"skills/pdf/SKILL.md": "---\ndescription: New\n---\n"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        answers.append(deliver(payload).content.decode())
    assert NotificationDelivery.objects.exists()
    # An unexpected error in the middle of a request to GitHub with the token, reported as a 500.
    import httpx

    plain = call("post", "/api/v1/collections/", {"name": "plain", "credentials": [token["id"]]})
    ArtifactFactory(
        collection=Collection.objects.get(pk=plain["id"]),
        name="pdf",
        source="acme/private-kit/skills/pdf",
    )

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the network library broke")

    monkeypatch.setattr(httpx.Client, "request", broken)
    api.raise_request_exception = False  # answered as a real server would: a 500
    failed = api.post(f"/api/v1/collections/{plain['id']}/refresh", {}, format="json")
    monkeypatch.undo()
    assert failed.status_code == 500 and tracked, "the error tracker saw the failure"
    assert "in _send" in tracked[-1], "the traceback reaches the frame that sends the token"
    answers.append(failed.content.decode())

    # Everything the site showed, wrote down or logged.
    pages = [
        admin_client.get(path).content.decode()
        for path in [
            "/admin/collections_app/credential/",
            *(f"/admin/collections_app/credential/{c['id']}/change/" for c in (token, app, login)),
            f"/admin/collections_app/collection/{kit.pk}/change/",
            *(f"/admin/refresher/refreshrun/{r.pk}/change/" for r in RefreshRun.objects.all()),
            "/admin/refresher/githubappinstallation/",
        ]
    ]
    rows = serializers.serialize(
        "json",
        [
            *RefreshRun.objects.all(),
            *RefreshEntry.objects.all(),
            *NotificationDelivery.objects.all(),
            *GitHubQuota.objects.all(),
            *HttpCacheEntry.objects.all(),
        ],
    )
    notifications = [str(r.body) for r in NotificationDelivery.objects.all()]
    git_cache = [
        p.read_bytes().decode("latin-1")
        for p in Path(settings.GIT_CACHE_DIR).rglob("*")
        if p.is_file()
    ]
    outputs = {
        "answers": "\n".join(answers),
        "admin": "\n".join(pages),
        "logs (plain)": logs["plain"].getvalue(),
        "logs (json)": logs["json"].getvalue(),
        "database": rows,
        "notifications": "\n".join(notifications),
        "tracebacks": "\n".join(tracked),
        "git cache": "\n".join(git_cache),
    }
    assert "refresh" in outputs["logs (json)"] and "GET /repos" in outputs["logs (plain)"]

    minted = [
        secret_box().open(row.token_encrypted).reveal()
        for row in GitHubAppInstallation.objects.exclude(token_encrypted="")
    ]
    assert minted, "the App's installation token was minted and kept"
    sealed = list(Credential.objects.values_list("secret_encrypted", flat=True))
    secrets = [TOKEN, REVOKED, PASSWORD, *minted, *sealed] + [
        line for line in app_key.splitlines() if "PRIVATE KEY" not in line and len(line) > 40
    ]
    leaks = [
        (where, form[:12] + "…")
        for secret in secrets
        for form in forms(secret)
        for where, text in outputs.items()
        if form in text
    ]
    assert leaks == []
