"""A run that holds updates for review reads and writes in a fixed number of queries, however
many artifacts it proposes (tests/refresher/test_query_count.py for a plain refresh)."""

import pytest

from refresher.models import Mode, PendingUpdate, Trigger
from refresher.options import RefreshOptions
from refresher.service import launch
from tests.factories import collection_with_artifacts

pytestmark = pytest.mark.django_db


def skill(i: int, revision: str) -> str:
    return f"---\nname: skill {i}\ndescription: Skill {i}.\n---\n{revision} https://h{i}.example\n"


def held_run(github, user, n: int):
    files = {f"skills/skill-{i:04d}/SKILL.md": skill(i, "first") for i in range(n)}
    github.add_repo("acme/skills", files=files, topics=["t"])
    collection = collection_with_artifacts(n, owner=user)
    launch(collection, RefreshOptions(mode=Mode.SYNC), trigger=Trigger.API, inline=True)
    collection.review_updates = True
    collection.save()
    github.commit(
        "acme/skills",
        files={f"skills/skill-{i:04d}/SKILL.md": skill(i, "second") for i in range(n)},
        message="Second revision",
    )
    return collection


# The queries of a scheduled sync that holds every artifact's new content for review:
#  19  the plain refresh up to its reads (tests/refresher/test_query_count.py): failing
#      abandoned runs, inserting the run, the artifacts, the collection's credentials, the
#      shared quota, the run's total, the waves' cached answers and quota reads, sharing the
#      quota spent, the new cached answers
#   1  the proposals the artifacts have (review step)
#   1  the cached trees of both commits (files at both, for the findings)
#   1  the cached commit lists, then sending the commit-list requests
#   1  sharing the quota they spent
#   3  upserting their cached answers (SAVEPOINT, INSERT, RELEASE)
#   then the apply transaction:
#   1  SAVEPOINT
#   1  the active-run guard
#   1  the artifacts' current updated_at
#   1  the artifacts' update (metadata and timestamps; content is held)
#   1  the entries
#   1  proposals rejected meanwhile (none are overwritten)
#   1  the proposals (one upsert)
#   1  the run's counts and status
#   1  RELEASE SAVEPOINT
#   then the end of the run:
#   1  re-read the finished run
#   1  pushes waiting for the collection (refresher.triggers.pending)
#   1  the collection, for a notification of a scheduled run (refresher.triggers.notify)
EXPECTED_QUERIES = 38


@pytest.mark.parametrize("n", [1, 50])
def test_holding_updates_costs_the_same_queries_for_1_and_50_artifacts(
    github, user, n, django_assert_num_queries
):
    collection = held_run(github, user, n)
    with django_assert_num_queries(EXPECTED_QUERIES):
        run = launch(
            collection, RefreshOptions(mode=Mode.SYNC), trigger=Trigger.SCHEDULE, inline=True
        ).run
    assert run.updates_available == n
    assert PendingUpdate.objects.filter(state="pending").count() == n
    assert collection.artifacts.filter(content__contains="second").count() == 0


@pytest.mark.parametrize("n", [1, 50])
def test_approving_costs_the_same_queries_for_1_and_50_artifacts(
    github, user, n, django_assert_max_num_queries
):
    from refresher.approvals import approve
    from refresher.updates.proposals import Choice

    collection = held_run(github, user, n)
    launch(collection, RefreshOptions(mode=Mode.SYNC), trigger=Trigger.SCHEDULE, inline=True)
    with django_assert_max_num_queries(EXPECTED_QUERIES):
        run = approve(collection, Choice(all=True), trigger=Trigger.API, inline=True).run
    assert run.refreshed == n and not PendingUpdate.objects.exists()
    assert collection.artifacts.filter(content__contains="second").count() == n
