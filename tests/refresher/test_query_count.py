"""A refresh reads and writes in a fixed number of queries, however many artifacts it covers."""

import pytest

from refresher.options import RefreshOptions
from refresher.service import refresh_now
from tests.factories import collection_with_artifacts

pytestmark = pytest.mark.django_db

# The expected queries of one metadata refresh that changes every artifact:
#   1  fail abandoned runs of this collection (UPDATE)
#   3  insert the run (SAVEPOINT, INSERT, RELEASE)
#   1  select the collection's artifacts
#   1  the collection's credentials and its owner's staff flag (what the run reads with)
#   1  read the quota every process shares (may GitHub be asked at all?)
#   1  record the run's total (progress for anyone polling it)
#   4  per wave (repositories, refs, trees, blobs): load the wave's cached answers
#   3  before the waves that follow a wave that sent requests (refs, trees, blobs): read the
#      shared quota again (a pause met by another process stops the wave)
#   4  share the quota the run spent (SAVEPOINT, SELECT ... FOR UPDATE, INSERT or UPDATE,
#      RELEASE)
#   3  upsert the new cached answers (in a savepoint: a failed cache write is not fatal)
#   then the apply transaction:
#   1  SAVEPOINT
#   1  the active-run guard (UPDATE ... WHERE status = 'running')
#   1  select the artifacts' current updated_at (FOR UPDATE on PostgreSQL)
#   1  bulk_update of the artifacts
#   1  bulk_create of the entries
#   1  final counts and status of the run
#   1  RELEASE SAVEPOINT
#   1  re-read the finished run
#   1  are pushes waiting for the collection to be free? (refresher.triggers.pending)
EXPECTED_QUERIES = 31


def setup_upstream(github, n: int) -> None:
    files = {
        f"skills/skill-{i:04d}/SKILL.md": f"---\nname: skill {i}\ndescription: Skill {i}.\n---\n"
        for i in range(n)
    }
    github.add_repo("acme/skills", files=files, topics=["t"])


@pytest.mark.parametrize("n", [1, 50])
def test_query_count_does_not_grow_with_the_number_of_artifacts(
    github, user, n, django_assert_num_queries
):
    setup_upstream(github, n)
    collection = collection_with_artifacts(n, owner=user)
    with django_assert_num_queries(EXPECTED_QUERIES):
        run = refresh_now(collection, RefreshOptions())
    assert run.refreshed == n


@pytest.mark.parametrize("n", [1, 50])
def test_a_warm_refresh_costs_the_same_queries(github, user, n, django_assert_max_num_queries):
    setup_upstream(github, n)
    collection = collection_with_artifacts(n, owner=user)
    refresh_now(collection, RefreshOptions())
    with django_assert_max_num_queries(EXPECTED_QUERIES):
        run = refresh_now(collection, RefreshOptions())
    assert run.unchanged == n
