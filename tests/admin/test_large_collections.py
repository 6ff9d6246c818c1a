"""The admin at scale: a collection's page, a run's page and every list stay small and take the
same queries whatever the number of artifacts, entries or records behind them."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from collections_app.models import Artifact, ArtifactType
from refresher.models import (
    EntryStatus,
    GitHubQuota,
    HttpCacheEntry,
    NotificationDelivery,
    RefreshEntry,
    RefreshRun,
    RunStatus,
    WebhookDelivery,
)
from tests.factories import CollectionFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE_LIMIT = 250 * 1024  # bytes a page may weigh, whatever the collection's size


def collection_page(collection) -> str:
    return reverse("admin:collections_app_collection_change", args=[collection.pk])


def run_page(run: RefreshRun) -> str:
    return reverse("admin:refresher_refreshrun_change", args=[run.pk])


def add_artifacts(collection, n: int, *, kind: str = ArtifactType.SKILL, start: int = 0) -> None:
    """n artifacts in one bulk insert: a collection of thousands in a fraction of a second."""
    rows = []
    for i in range(start, start + n):
        artifact = Artifact(
            collection=collection,
            type=kind,
            name=f"{kind}-{i:05d}",
            title=f"Title of {kind} {i}",
            description="A description long enough to weigh something on a page. " * 3,
        )
        artifact.set_source(f"acme/skills/skills/{kind}-{i:05d}")
        rows.append(artifact)
    Artifact.objects.bulk_create(rows, batch_size=1000)


def add_run(collection, n: int) -> RefreshRun:
    """A finished run of n artifacts, every entry with field changes to show."""
    run = RefreshRun.objects.create(
        collection=collection,
        status=RunStatus.COMPLETED,
        started_at=timezone.now(),
        total=n,
        refreshed=n - n // 10,
        error=n // 10,
    )
    RefreshEntry.objects.bulk_create(
        (
            RefreshEntry(
                run=run,
                artifact_key=f"skill:skill-{i:05d}",
                status=EntryStatus.ERROR if i % 10 == 0 else EntryStatus.REFRESHED,
                error_code="upstream_not_found" if i % 10 == 0 else "",
                error_message="no such path" if i % 10 == 0 else "",
                applied=i % 10 != 0,
                changes={
                    "description": {
                        "old": "old words " * 10,
                        "new": "new words " * 10,
                        "applied": True,
                    },
                    "topics": {"old": [], "new": ["pdf", "tools"], "applied": True},
                },
            )
            for i in range(n)
        ),
        batch_size=1000,
    )
    return run


def fetch(client: Client, url: str) -> tuple[str, int]:
    """The page's text and the number of queries it took."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode(), len(queries)


@pytest.fixture
def superuser_ui() -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


# -- a collection's page ------------------------------------------------------------------------


def test_collection_page_counts_artifacts_by_type_and_links_to_the_filtered_list(admin_ui, user):
    collection = CollectionFactory(owner=user, name="Team skills")
    add_artifacts(collection, 3)
    add_artifacts(collection, 2, kind=ArtifactType.COMMAND)
    other = CollectionFactory(owner=user, name="Other skills")
    add_artifacts(other, 4, start=100)

    page, _ = fetch(admin_ui, collection_page(collection))

    artifacts = reverse("admin:collections_app_artifact_changelist")
    everything = f"{artifacts}?collection__id__exact={collection.pk}"
    skills = f"{everything}&amp;type__exact=skill"
    commands = f"{everything}&amp;type__exact=command"
    assert f'<a href="{skills}">3</a>' in page
    assert f'<a href="{commands}">2</a>' in page
    assert f'<a href="{everything}">All 5 artifacts of this collection</a>' in page
    assert "skill-00000" not in page  # counted, not listed

    listed, _ = fetch(admin_ui, everything)
    assert "skill-00000" in listed and "command-00001" in listed
    assert "skill-00100" not in listed  # another collection's
    only_commands, _ = fetch(admin_ui, commands.replace("&amp;", "&"))
    assert "command-00000" in only_commands and "skill-00000" not in only_commands


def test_collection_page_offers_a_new_artifact_in_the_collection(superuser_ui, user):
    collection = CollectionFactory(owner=user)

    page, _ = fetch(superuser_ui, collection_page(collection))

    add = f"{reverse('admin:collections_app_artifact_add')}?collection={collection.pk}"
    assert f'href="{add}"' in page
    assert "This collection has no artifacts yet." in page
    form, _ = fetch(superuser_ui, add)
    assert f'<option value="{collection.pk}" selected>' in form


def test_collection_page_keeps_its_tools_and_fields(admin_ui, user):
    collection = CollectionFactory(owner=user, name="Team skills")
    add_artifacts(collection, 3)

    page, _ = fetch(admin_ui, collection_page(collection))

    discover = reverse("admin:collections_app_collection_discover", args=[collection.pk])
    assert f'href="{discover}"' in page  # "Add from repository", beside History
    assert 'name="name" value="Team skills"' in page
    assert 'name="_save"' in page
    assert 'id="collection-artifacts"' in page


# The collection page's queries: session and user, the collection with its artifact count, the
# user's permissions (two), the counts per type, the owner choices, and the content type (when
# not cached yet); the marketplace box adds three: the artifacts' marketplace columns (hooks' and
# MCP configs' files only: what the manifest is built from), the newest share links and their
# count.
COLLECTION_PAGE_QUERIES = 11


@pytest.mark.parametrize("n", [1000, 5000])
def test_collection_page_stays_small_whatever_the_collection(
    admin_ui, user, n, django_assert_max_num_queries
):
    collection = CollectionFactory(owner=user)
    add_artifacts(collection, n - 10)
    add_artifacts(collection, 10, kind=ArtifactType.AGENT)

    with django_assert_max_num_queries(COLLECTION_PAGE_QUERIES):
        response = admin_ui.get(collection_page(collection))

    assert response.status_code == 200
    assert len(response.content) < PAGE_LIMIT
    page = response.content.decode()
    assert f"All {n} artifacts of this collection" in page
    assert f">{n - 10}</a>" in page and ">10</a>" in page
    assert "skill-00001" not in page
    assert "<strong>0</strong> plugins" in page
    assert f">{n}</a>" in page  # every one left out as not synced, counted once


def test_artifact_list_of_a_large_collection_is_paged_with_the_same_queries(admin_ui, user):
    small, large = CollectionFactory(owner=user), CollectionFactory(owner=user)
    add_artifacts(small, 3)
    add_artifacts(large, 1500, start=10_000)
    url = reverse("admin:collections_app_artifact_changelist")

    small_page, small_queries = fetch(admin_ui, f"{url}?collection__id__exact={small.pk}")
    large_page, large_queries = fetch(admin_ui, f"{url}?collection__id__exact={large.pk}")

    assert small_queries == large_queries
    assert "3 artifacts" in small_page
    assert len(large_page) < PAGE_LIMIT
    assert "1500 artifacts" in large_page
    assert "skill-10099" in large_page and "skill-10100" not in large_page  # 100 a page
    second, _ = fetch(admin_ui, f"{url}?collection__id__exact={large.pk}&p=2")
    assert "skill-10100" in second


# -- a run's page and its entries ---------------------------------------------------------------


def test_run_page_of_1000_entries_shows_one_page_and_links_to_the_rest(
    admin_ui, user, django_assert_max_num_queries
):
    run = add_run(CollectionFactory(owner=user, name="Team skills"), 1000)

    # Session and user, the run with its collection and people, the user's permissions (two),
    # the entries' count and page, and the content type (when not cached yet).
    with django_assert_max_num_queries(8):
        response = admin_ui.get(run_page(run))

    assert response.status_code == 200
    assert len(response.content) < PAGE_LIMIT
    page = response.content.decode()
    assert "Entries (1000)" in page
    assert "skill:skill-00049" in page and "skill:skill-00050" not in page
    assert "Entries 1&ndash;50 of 1000" in page
    entries = reverse("admin:refresher_refreshentry_changelist")
    assert f'href="{entries}?run={run.pk}&amp;status__exact=error">100 error</a>' in page
    assert f'href="{entries}?run={run.pk}&amp;status__exact=refreshed">900 refreshed</a>' in page

    last = admin_ui.get(run_page(run), {"entries_page": 20}).content.decode()
    assert "skill:skill-00999" in last and "skill:skill-00949" not in last
    assert "Entries 951&ndash;1000 of 1000" in last


def test_run_page_takes_the_same_queries_for_few_and_many_entries(admin_ui, user):
    collection = CollectionFactory(owner=user)
    _, few = fetch(admin_ui, run_page(add_run(collection, 3)))
    _, many = fetch(admin_ui, run_page(add_run(collection, 600)))
    assert few == many


def test_entry_list_of_a_run_is_filtered_paged_and_bounded(admin_ui, user):
    collection = CollectionFactory(owner=user, name="Team skills")
    small, large = add_run(collection, 3), add_run(collection, 1000)
    url = reverse("admin:refresher_refreshentry_changelist")

    small_page, small_queries = fetch(admin_ui, f"{url}?run={small.pk}")
    large_page, large_queries = fetch(admin_ui, f"{url}?run={large.pk}")

    assert small_queries == large_queries
    assert "3 refresh entries" in small_page
    assert len(large_page) < PAGE_LIMIT
    assert "1000 refresh entries" in large_page
    assert "Refresh metadata of “Team skills”" in large_page  # the chosen run, by name
    errors, _ = fetch(admin_ui, f"{url}?run={large.pk}&status__exact=error")
    assert "100 refresh entries" in errors
    assert "skill:skill-00010" in errors and "skill:skill-00011" not in errors


def test_entry_list_of_an_unknown_run_is_empty(admin_ui, user):
    add_run(CollectionFactory(owner=user), 3)
    url = reverse("admin:refresher_refreshentry_changelist")

    for value in (uuid.uuid4(), "not-a-uuid"):
        page, _ = fetch(admin_ui, f"{url}?run={value}")
        assert "0 refresh entries" in page
        assert "skill:skill-00000" not in page


def test_an_entry_page_shows_its_changes_read_only(admin_ui, user):
    run = add_run(CollectionFactory(owner=user, name="Team skills"), 2)
    entry = run.entries.get(artifact_key="skill:skill-00001")

    page, _ = fetch(admin_ui, reverse("admin:refresher_refreshentry_change", args=[entry.pk]))

    assert "new words" in page and "pdf, tools" in page
    assert run_page(run) in page
    assert 'name="_save"' not in page
    delete = reverse("admin:refresher_refreshentry_delete", args=[entry.pk])
    assert admin_ui.get(delete).status_code == 403


def test_entries_are_for_those_who_may_read_runs(user):
    run = add_run(CollectionFactory(owner=user), 2)
    stranger = Client()
    stranger.force_login(UserFactory(username="stranger", is_staff=True))
    url = reverse("admin:refresher_refreshentry_changelist")

    assert stranger.get(f"{url}?run={run.pk}").status_code == 403


# -- the other lists ----------------------------------------------------------------------------


def make_deliveries(collection, run: RefreshRun, n: int, start: int) -> None:
    NotificationDelivery.objects.bulk_create(
        NotificationDelivery(run=run, collection=collection, url="https://x.test/", body="{}")
        for _ in range(n)
    )
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(delivery_id=f"d-{start + i}", event="push", repository="acme/skills")
        for i in range(n)
    )
    HttpCacheEntry.objects.bulk_create(
        HttpCacheEntry(
            key=f"/repos/acme/skills-{start + i}/git/trees/{'a' * 40}",
            body={"tree": [{"path": f"file-{j}", "sha": "b" * 40} for j in range(200)]},
            fetched_at=timezone.now() - timedelta(days=i % 5),
        )
        for i in range(n)
    )
    GitHubQuota.objects.bulk_create(
        GitHubQuota(account=f"account-{start + i}", api_url="https://api.github.com")
        for i in range(n)
    )


LISTS = [
    "admin:refresher_refreshrun_changelist",
    "admin:refresher_notificationdelivery_changelist",
    "admin:refresher_webhookdelivery_changelist",
    "admin:refresher_httpcacheentry_changelist",
    "admin:refresher_githubquota_changelist",
    "admin:collections_app_artifact_changelist",
    "admin:collections_app_collection_changelist",
]


@pytest.mark.parametrize("name", LISTS)
def test_every_list_takes_the_same_queries_for_few_and_many_rows(superuser_ui, name):
    url = reverse(name)
    counts = []
    for size, start in ((2, 0), (150, 1000)):
        collection = CollectionFactory(name=f"collection {start}")
        add_artifacts(collection, size, start=start)
        for _ in range(size):
            RefreshRun.objects.create(collection=collection, status=RunStatus.COMPLETED)
        make_deliveries(collection, collection.refresh_runs.first(), size, start)
        page, queries = fetch(superuser_ui, url)
        assert len(page) < PAGE_LIMIT
        counts.append(queries)
    assert counts[0] == counts[1], (
        f"{name}: {counts[0]} queries with few rows, {counts[1]} with many"
    )


def test_preview_of_a_large_collection_lists_a_hundred_and_links_the_rest(admin_ui, user, github):
    names = [f"skill-{i:05d}" for i in range(120)]
    github.add_repo(
        "acme/skills",
        files={
            f"skills/{name}/SKILL.md": f"---\nname: {name}\ndescription: All about {name}.\n---\n"
            for name in names
        },
    )
    collection = CollectionFactory(owner=user, name="Team skills")
    add_artifacts(collection, 120)
    changelist = reverse("admin:collections_app_collection_changelist")

    response = admin_ui.post(
        changelist, {"action": "refresh_metadata", "_selected_action": [str(collection.pk)]}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert len(page) < PAGE_LIMIT
    assert "All about skill-00099." in page and "All about skill-00100." not in page
    run = RefreshRun.objects.get()
    assert run.dry_run and run.refreshed == 120  # the dry run read them all
    assert "20 more with changes or notes" in page
    assert f'<a href="{run_page(run)}">the dry-run record</a> lists them all' in page
    assert 'name="apply" value="1"' in page  # Apply is still offered, for all 120
