"""Git hosts that fail, end to end: a refresh through the real git against loopback servers.

One server speaks https with a certificate made here and answers every request with 401 (a
private repository); another accepts connections and never answers. Each failing source must
end as its entry's error code, without git prompting for credentials, while the rest of the run
is read and applied.
"""

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest

from refresher.models import EntryStatus, RefreshRun
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from tests.factories import ArtifactFactory, CollectionFactory
from tests.git.https_host import needs_openssl, serve_tls
from tests.gitrepo import LocalRepo

pytestmark = [pytest.mark.django_db, needs_openssl]

DESCRIPTION = "Read from the healthy repository"
SKILL = f"---\ndescription: {DESCRIPTION}\n---\nBody.\n"


@dataclass
class AuthRequiredServer:
    """An https git host that wants credentials for everything (as for a private repository)."""

    port: int
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def auth_server(certificate) -> Iterator[AuthRequiredServer]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="private"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve_tls(Handler, certificate) as server:
        yield AuthRequiredServer(server.server_address[1], seen)


@dataclass
class SilentServer:
    """Accepts connections and never sends a byte."""

    port: int
    accepted: list[socket.socket] = field(default_factory=list)


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    silent = SilentServer(listener.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            silent.accepted.append(connection)  # held open, never read, never answered

    thread = threading.Thread(target=accept)
    thread.start()
    yield silent
    stop.set()
    thread.join(timeout=10)
    for connection in silent.accepted:
        connection.close()
    listener.close()


@pytest.fixture
def healthy(git_site, tmp_path_factory) -> LocalRepo:
    repo = LocalRepo(tmp_path_factory.mktemp("healthy") / "acme" / "skills")
    repo.commit({"skills/pdf/SKILL.md": SKILL}, "initial")
    return repo


@pytest.fixture
def collection(user, healthy):
    collection = CollectionFactory(owner=user)
    ArtifactFactory(collection=collection, name="pdf", source=healthy.source("skills/pdf"))
    return collection


def entries_of(run: RefreshRun) -> dict[str, tuple[str, str, str]]:
    return {
        e.artifact_key: (e.status, e.error_code, e.error_message)
        for e in run.entries.order_by("artifact_key")
    }


def assert_the_rest_was_applied(run: RefreshRun) -> None:
    # One entry failed, the other was read and applied: a partial run, not a failed one.
    assert run.status == "partial"
    status, code, _ = entries_of(run)["skill:pdf"]
    assert (status, code) == (EntryStatus.REFRESHED, "")
    assert run.collection.artifacts.get(name="pdf").description == DESCRIPTION


def test_a_host_asking_for_credentials_is_upstream_forbidden_without_a_prompt(
    git_site, collection, auth_server, certificate
):
    git_site.GIT_ALLOWED_HOSTS = [f"127.0.0.1:{auth_server.port}"]
    git_site.GIT_SSL_CA_BUNDLE = str(certificate.cert)
    ArtifactFactory(
        collection=collection,
        name="private",
        source=f"git+https://127.0.0.1:{auth_server.port}/team/private.git//skills/x",
    )

    run = refresh_now(collection, RefreshOptions())

    status, code, message = entries_of(run)["skill:private"]
    assert (status, code) == (EntryStatus.ERROR, "upstream_forbidden")
    # git met the 401 and, with prompts off, gave up instead of asking for a user name.
    assert "terminal prompts disabled" in message
    assert auth_server.paths == ["/team/private.git/info/refs?service=git-upload-pack"]
    assert_the_rest_was_applied(run)


def test_without_the_ca_bundle_a_private_ca_host_is_not_trusted(git_site, collection, auth_server):
    git_site.GIT_ALLOWED_HOSTS = [f"127.0.0.1:{auth_server.port}"]
    git_site.GIT_SSL_CA_BUNDLE = ""
    ArtifactFactory(
        collection=collection,
        name="private",
        source=f"git+https://127.0.0.1:{auth_server.port}/team/private.git",
    )

    run = refresh_now(collection, RefreshOptions())

    status, code, message = entries_of(run)["skill:private"]
    assert (status, code) == (EntryStatus.ERROR, "upstream_unavailable")
    assert "certificate" in message.lower()
    assert auth_server.paths == []  # the TLS handshake failed before any request
    assert_the_rest_was_applied(run)


def test_a_host_that_never_answers_is_stopped_at_the_git_timeout(
    git_site, collection, silent_server
):
    git_site.GIT_ALLOWED_HOSTS = [f"127.0.0.1:{silent_server.port}"]
    git_site.GIT_TIMEOUT = 1.0
    ArtifactFactory(
        collection=collection,
        name="stuck",
        source=f"git+https://127.0.0.1:{silent_server.port}/team/stuck.git//skills/x",
    )

    run = refresh_now(collection, RefreshOptions())

    status, code, message = entries_of(run)["skill:stuck"]
    assert (status, code) == (EntryStatus.ERROR, "upstream_unavailable")
    # The server never answers, so only the git timeout could end the read.
    assert "did not finish within 1 s" in message
    assert len(silent_server.accepted) >= 1
    assert_the_rest_was_applied(run)
