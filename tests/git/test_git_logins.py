"""Git logins end to end: a private repository behind git's own http-backend, over TLS on loopback.

The host asks for Basic authentication. A collection's `git_basic` credential for that host and
port reaches git through its environment only: never its arguments (a wrapper around git records
every command line), never the cache directory. Without a login of its own, or with a wrong one,
a run reads nothing, also after another collection filled the cache from that repository.
"""

import base64
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from collections_app.models import Collection, Credential
from refresher.exceptions import UpstreamUnavailable
from refresher.models import EntryStatus, RefreshRun
from refresher.options import RefreshOptions
from refresher.service import refresh_now
from tests.credentials_support import make_credential
from tests.factories import ArtifactFactory, CollectionFactory
from tests.git.https_host import Seen, git_host_handler, needs_openssl, serve_tls
from tests.gitrepo import LocalRepo

pytestmark = [pytest.mark.django_db, needs_openssl]

USERNAME = "ci-bot"
PASSWORD = "Pa55-word-only-git-may-see"
SKILL = "---\ndescription: From the team's private forge\n---\nBody.\n"


@dataclass
class Forge:
    host: str  # 127.0.0.1:<port>
    seen: Seen
    repo: LocalRepo

    @property
    def source(self) -> str:
        return f"git+https://{self.host}/team/kit.git//skills/pdf"


@pytest.fixture
def forge(tmp_path_factory, certificate, git_site) -> Iterator[Forge]:
    root = tmp_path_factory.mktemp("forge")
    repo = LocalRepo(root / "team" / "kit.git")
    repo.commit({"skills/pdf/SKILL.md": SKILL}, "initial")
    seen = Seen()
    handler = git_host_handler(root, username=USERNAME, password=PASSWORD, seen=seen)
    with serve_tls(handler, certificate) as server:
        host = f"127.0.0.1:{server.server_address[1]}"
        git_site.GIT_ALLOWED_HOSTS = [host]
        git_site.GIT_SSL_CA_BUNDLE = str(certificate.cert)
        yield Forge(host, seen, repo)


@pytest.fixture
def recorded_git(tmp_path, git_site) -> Path:
    """GIT_BINARY is a wrapper writing down each command line before running git."""
    log = tmp_path / "argv.log"
    wrapper = tmp_path / "git"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec /usr/bin/env git "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    git_site.GIT_BINARY = str(wrapper)
    return log


def collection_with(
    owner, source: str, *credentials: Credential, name: str = "forge"
) -> Collection:
    collection = CollectionFactory(owner=owner, name=name)
    for position, credential in enumerate(credentials):
        collection.credentials.add(credential, through_defaults={"position": position})
    ArtifactFactory(collection=collection, name="pdf", source=source, description="ours")
    return collection


def login(owner, host: str, password: str = PASSWORD, name: str = "forge login") -> Credential:
    return make_credential(
        owner, kind="git_basic", host=host, username=USERNAME, secret=password, name=name
    )


def refresh(collection: Collection, **options: str) -> RefreshRun:
    """The run's record, also when nothing could be read (the API would answer that with 503)."""
    try:
        return refresh_now(collection, RefreshOptions(**options))
    except UpstreamUnavailable as exc:
        return RefreshRun.objects.get(pk=(exc.details or {})["run_id"])


def only_entry(run):
    return run.entries.get()


def secret_forms(secret: str) -> list[str]:
    pair = f"{USERNAME}:{secret}".encode()
    return [secret, base64.b64encode(pair).decode(), base64.b64encode(secret.encode()).decode()]


def test_a_login_reads_the_private_repository_through_gits_environment_only(
    forge, user, credential_keys, recorded_git, git_site
):
    credential = login(user, forge.host)
    collection = collection_with(user, forge.source, credential)

    run = refresh(collection, mode="sync")

    assert only_entry(run).status == EntryStatus.REFRESHED
    assert collection.artifacts.get().description == "From the team's private forge"
    # The host saw the login...
    assert f"Basic {secret_forms(PASSWORD)[1]}" in forge.seen.authorizations
    # ...which no command line and no file of the cache holds.
    argv = recorded_git.read_text()
    assert "ls-remote" in argv and "fetch" in argv
    cache = Path(git_site.GIT_CACHE_DIR)
    stored = [p.read_bytes() for p in cache.rglob("*") if p.is_file()]
    for form in secret_forms(PASSWORD):
        assert form not in argv
        assert not any(form.encode() in data for data in stored)
    credential.refresh_from_db()
    assert credential.last_used_at is not None


def test_without_a_login_nothing_is_read(forge, user):
    run = refresh(collection_with(user, forge.source))

    entry = only_entry(run)
    assert (entry.status, entry.error_code) == (EntryStatus.ERROR, "upstream_forbidden")
    assert set(forge.seen.authorizations) == {""}


def test_a_refused_login_is_unauthorized_and_named(forge, user, credential_keys):
    wrong = login(user, forge.host, password="not-the-password-at-all", name="stale login")

    run = refresh(collection_with(user, forge.source, wrong))

    entry = only_entry(run)
    assert (entry.status, entry.error_code) == (EntryStatus.ERROR, "upstream_unauthorized")
    assert f"credential 'stale login' ({wrong.pk})" in entry.error_message
    assert "not-the-password-at-all" not in entry.error_message


def test_a_login_for_another_port_of_the_host_is_not_sent(forge, user, credential_keys, settings):
    elsewhere = forge.host.rsplit(":", 1)[0] + ":1"
    settings.GIT_ALLOWED_HOSTS = [forge.host, elsewhere]
    credential = login(user, elsewhere)

    run = refresh(collection_with(user, forge.source, credential))

    assert only_entry(run).error_code == "upstream_forbidden"
    assert set(forge.seen.authorizations) == {""}


def test_a_cache_filled_by_one_collection_reads_nothing_for_another(
    forge, user, other_user, credential_keys
):
    mine = collection_with(user, forge.source, login(user, forge.host))
    assert only_entry(refresh(mine, mode="sync")).status == (EntryStatus.REFRESHED)
    head = forge.repo.head()

    # Pinned to the commit the cache now holds, with no login of its own, and with a wrong one.
    pinned = f"{forge.source}@{head}"
    for credentials, code in [
        ((), "upstream_forbidden"),
        ((login(other_user, forge.host, password="guess", name="guess"),), "upstream_unauthorized"),
    ]:
        theirs = collection_with(other_user, pinned, *credentials, name=f"theirs-{code}")
        entry = only_entry(refresh(theirs, mode="sync"))
        assert (entry.status, entry.error_code) == (EntryStatus.ERROR, code)
        artifact = theirs.artifacts.get()
        assert (artifact.description, artifact.content, artifact.content_sha) == ("ours", "", "")


def test_trying_a_login_lists_the_refs_of_a_git_source_of_its_host(
    forge, user, api, credential_keys
):
    good = login(user, forge.host, name="good")
    bad = login(user, forge.host, password="not-it", name="bad")
    collection_with(user, forge.source)  # where `test` finds a repository to try them on

    def tried(credential, body=None):
        path = f"/api/v1/credentials/{credential.pk}/test"
        return api.post(path, body or {}, format="json").json()

    assert tried(good) == {
        "ok": True,
        "login": USERNAME,
        "app": None,
        "detail": f"https://{forge.host}/team/kit.git lets it in.",
    }
    refused = tried(bad)
    assert refused["ok"] is False and "not-it" not in str(refused)
    elsewhere = tried(good, {"source": "acme/skills"})
    assert (
        elsewhere["ok"] is False
        and "reads git+https sources of that host only" in (elsewhere["detail"])
    )


def test_reviewing_an_update_fetches_the_history_with_the_login(forge, user, credential_keys):
    """The review step deepens the shallow cache to list the commits between: with the login."""
    from refresher.models import Mode, PendingUpdate, Trigger
    from refresher.service import launch

    collection = collection_with(user, forge.source, login(user, forge.host))
    launch(collection, RefreshOptions(mode=Mode.SYNC), trigger=Trigger.API, inline=True)
    collection.review_updates = True
    collection.save()
    for n in range(3):
        forge.repo.commit({"skills/pdf/SKILL.md": SKILL + f"\nStep {n}.\n"}, f"Step {n}")
    forge.seen.authorizations.clear()

    launch(collection, RefreshOptions(mode=Mode.SYNC), trigger=Trigger.SCHEDULE, inline=True)

    pending = PendingUpdate.objects.get(artifact__collection=collection)
    assert [c["message"] for c in pending.commits] == ["Step 2", "Step 1", "Step 0"]
    assert set(forge.seen.authorizations) == {f"Basic {secret_forms(PASSWORD)[1]}"}
