"""Which artifacts a push touches: repository, branch, changed paths (SPEC 13)."""

import pytest

from refresher.triggers.push import match, parse_push
from tests.factories import ArtifactFactory, CollectionFactory
from tests.webhooks.payloads import commit, push

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection(user):
    collection = CollectionFactory(owner=user, refresh_on_push=True)
    for name, source in [
        ("pdf", "acme/skills/skills/pdf"),  # a directory artifact on the default branch
        ("lint", "acme/skills/commands/lint.md"),  # a file artifact
        ("beta", "acme/skills/skills/beta@next"),  # tracks branch "next"
        ("pinned", "acme/skills/skills/pdf@" + "c" * 40),  # pinned to a commit
        ("elsewhere", "other/skills/skills/pdf"),  # another repository
        ("whole", "acme/tools"),  # a whole repository
    ]:
        ArtifactFactory(collection=collection, name=name, source=source)
    return collection


def names(collection, payload) -> list[str]:
    found = match(parse_push(payload)).get(collection.pk, [])
    return sorted(collection.artifacts.filter(pk__in=found).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # A directory artifact matches any file under it, at any depth.
        ({"modified": ["skills/pdf/SKILL.md"]}, ["pdf"]),
        ({"added": ["skills/pdf/scripts/extract.py"]}, ["pdf"]),
        ({"removed": ["skills/pdf/reference.md"]}, ["pdf"]),
        # ...but not a sibling whose name starts the same way.
        ({"modified": ["skills/pdf-tools/SKILL.md"]}, []),
        ({"modified": ["skills/pdfx"]}, []),
        # A file artifact matches that file only.
        ({"modified": ["commands/lint.md"]}, ["lint"]),
        ({"modified": ["commands/lint.md.orig"]}, []),
        ({"modified": ["commands/format.md"]}, []),
        # Files elsewhere in the repository touch nothing.
        ({"modified": ["README.md", "LICENSE"]}, []),
        # Paths are case-sensitive, as in git.
        ({"modified": ["Skills/PDF/SKILL.md"]}, []),
        # A rename is a removal and an addition: the old path counts.
        ({"removed": ["skills/pdf/SKILL.md"], "added": ["skills/pdf2/SKILL.md"]}, ["pdf"]),
        ({"modified": ["skills/pdf/SKILL.md", "commands/lint.md"]}, ["lint", "pdf"]),
    ],
)
def test_changed_paths_select_directory_and_file_artifacts(collection, files, expected):
    assert names(collection, push(commits=[commit(**files)])) == expected


def test_files_of_every_listed_commit_count(collection):
    payload = push(
        commits=[commit(modified=["skills/pdf/SKILL.md"]), commit(added=["commands/lint.md"])]
    )
    assert names(collection, payload) == ["lint", "pdf"]


def test_the_repository_is_matched_case_insensitively(collection):
    payload = push(full_name="ACME/Skills", commits=[commit(modified=["skills/pdf/SKILL.md"])])
    assert names(collection, payload) == ["pdf"]


def test_another_repository_touches_nothing_here(collection):
    payload = push(full_name="acme/skills-fork", commits=[commit(modified=["skills/pdf/x"])])
    assert names(collection, payload) == []


def test_an_artifact_without_a_ref_follows_the_default_branch_only(collection):
    files = commit(modified=["skills/pdf/SKILL.md", "skills/beta/SKILL.md"])
    assert names(collection, push(ref="refs/heads/feature", commits=[files])) == []
    # When the default branch is "trunk", a push to "main" is another branch.
    assert names(collection, push(default_branch="trunk", commits=[files])) == []
    assert names(collection, push(ref="refs/heads/trunk", default_branch="trunk", commits=[files]))


def test_an_artifact_with_a_branch_ref_follows_that_branch(collection):
    files = commit(modified=["skills/pdf/SKILL.md", "skills/beta/SKILL.md"])
    assert names(collection, push(ref="refs/heads/next", commits=[files])) == ["beta"]


def test_pinned_artifacts_never_match(collection):
    payload = push(commits=[commit(modified=["skills/pdf/SKILL.md"])])
    assert "pinned" not in names(collection, payload)
    assert "pinned" not in names(collection, push(commits=None))


def test_tag_pushes_and_deleted_branches_touch_nothing(collection):
    files = [commit(modified=["skills/pdf/SKILL.md"])]
    assert names(collection, push(ref="refs/tags/v1.0", commits=files)) == []
    assert names(collection, push(deleted=True, commits=[])) == []


@pytest.mark.parametrize(
    "payload",
    [
        # GitHub lists at most 20 commits: a list of 20 may hide the rest of the files.
        push(commits=[commit(modified=["README.md"]) for _ in range(20)]),
        # No commit list at all.
        push(commits=None),
        # A forced push rewrites history that the list does not show.
        push(forced=True, commits=[commit(modified=["README.md"])]),
    ],
    ids=["twenty-commits", "no-commits-key", "forced"],
)
def test_a_truncated_or_unknown_commit_list_means_every_artifact_on_the_branch(collection, payload):
    assert names(collection, payload) == ["lint", "pdf"]


def test_nineteen_commits_are_still_read_file_by_file(collection):
    commits = [commit(modified=["README.md"]) for _ in range(18)]
    commits.append(commit(modified=["commands/lint.md"]))
    assert names(collection, push(commits=commits)) == ["lint"]


def test_a_whole_repository_artifact_matches_any_file(collection):
    payload = push(full_name="acme/tools", commits=[commit(modified=["docs/usage.md"])])
    assert names(collection, payload) == ["whole"]


def test_collections_that_do_not_refresh_on_push_are_left_out(collection, user):
    quiet = CollectionFactory(owner=user, refresh_on_push=False)
    ArtifactFactory(collection=quiet, name="pdf", source="acme/skills/skills/pdf")
    found = match(parse_push(push(commits=[commit(modified=["skills/pdf/SKILL.md"])])))
    assert list(found) == [collection.pk]
