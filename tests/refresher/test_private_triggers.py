"""Discovery, scheduled runs and push runs read with the collection's credentials (SPEC 16)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from collections_app.models import Collection
from refresher.models import EntryStatus, Mode, RefreshRun, Trigger
from refresher.triggers.scheduler import run_due_schedules
from tests.credentials_support import make_credential
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import fixture_text
from tests.webhooks.payloads import SECRET, commit, deliver, push

pytestmark = pytest.mark.django_db

TOKEN = "ghp_AliceReadsTheTeamRepos000000001"
PRIVATE = "acme/private-kit"


@pytest.fixture
def upstream(github):
    files = {
        "skills/pdf/SKILL.md": fixture_text("skill-pdf.md"),
        "agents/reviewer.md": "---\nname: reviewer\ndescription: Reviews\n---\n",
    }
    github.add_repo(PRIVATE, files=files, private=True)
    github.add_token(TOKEN, login="alice", private=[PRIVATE])
    return github


@pytest.fixture
def with_token(user, credential_keys) -> Collection:
    collection = CollectionFactory(
        owner=user, refresh_on_push=True, auto_refresh_mode=Mode.METADATA_ONLY
    )
    collection.credentials.add(
        make_credential(user, secret=TOKEN), through_defaults={"position": 0}
    )
    return collection


def bearers(github) -> set[str]:
    return {r.headers.get("authorization", "") for r in github.requests}


def test_discovery_reads_a_private_repository_with_the_collections_token(upstream, api, with_token):
    answer = api.post(
        f"/api/v1/collections/{with_token.pk}/discover", {"source": PRIVATE}, format="json"
    )

    assert answer.status_code == 200, answer.content
    found = {(a["type"], a["name"], a["status"]) for a in answer.json()["artifacts"]}
    assert found == {("skill", "pdf", "added"), ("agent", "reviewer", "added")}
    assert bearers(upstream) == {f"Bearer {TOKEN}"}


def test_discovery_without_a_credential_says_one_is_required(upstream, api, user):
    collection = CollectionFactory(owner=user)

    answer = api.post(
        f"/api/v1/collections/{collection.pk}/discover", {"source": PRIVATE}, format="json"
    )

    assert answer.status_code == 200
    [entry] = answer.json()["artifacts"]
    assert (entry["status"], entry["reason"]) == ("invalid", "credentials_required")
    assert not collection.artifacts.exists()


def test_a_scheduled_run_reads_with_the_collections_token(
    upstream, with_token, django_capture_on_commit_callbacks
):
    ArtifactFactory(collection=with_token, name="pdf", source=f"{PRIVATE}/skills/pdf")
    with_token.refresh_schedule = "@hourly"
    with_token.save()
    type(with_token).objects.filter(pk=with_token.pk).update(
        next_refresh_at=timezone.now() - timedelta(minutes=1)
    )

    with django_capture_on_commit_callbacks(execute=True):  # the worker takes the queued run
        [run] = run_due_schedules()

    run = RefreshRun.objects.get(pk=run.pk)
    assert run.trigger == Trigger.SCHEDULE
    assert run.entries.get().status == EntryStatus.REFRESHED
    assert bearers(upstream) == {f"Bearer {TOKEN}"}


def test_a_push_run_reads_with_the_collections_token(
    upstream, with_token, settings, django_capture_on_commit_callbacks
):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    ArtifactFactory(collection=with_token, name="pdf", source=f"{PRIVATE}/skills/pdf")
    payload = push(full_name=PRIVATE, commits=[commit(modified=["skills/pdf/SKILL.md"])])

    with django_capture_on_commit_callbacks(execute=True):
        answer = deliver(payload)

    assert answer.status_code == 202, answer.content
    run = RefreshRun.objects.get(trigger=Trigger.PUSH)
    assert run.entries.get().status == EntryStatus.REFRESHED
    assert bearers(upstream) == {f"Bearer {TOKEN}"}


def test_reviewing_an_update_asks_upstream_with_the_collections_token(upstream, with_token):
    """The review step (files at both commits, the commits between) reads as the run did."""
    from refresher.models import PendingUpdate
    from refresher.options import RefreshOptions
    from refresher.service import launch

    ArtifactFactory(collection=with_token, name="pdf", source=f"{PRIVATE}/skills/pdf")
    launch(with_token, RefreshOptions(mode=Mode.SYNC), trigger=Trigger.API, inline=True)
    with_token.review_updates = True
    with_token.save()
    changed = fixture_text("skill-pdf.md") + "\nA new section, with https://new.example\n"
    upstream.commit(PRIVATE, files={"skills/pdf/SKILL.md": changed}, message="New section")
    upstream.reset_log()

    launch(with_token, RefreshOptions(mode=Mode.SYNC), trigger=Trigger.SCHEDULE, inline=True)

    pending = PendingUpdate.objects.get(artifact__collection=with_token)
    assert [c["message"] for c in pending.commits] == ["New section"]
    assert bearers(upstream) == {f"Bearer {TOKEN}"}
