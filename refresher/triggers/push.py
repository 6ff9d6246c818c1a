"""Matching a GitHub `push` event to the artifacts it touches (SPEC 13).

An artifact is touched when its source is the pushed repository (compared case-insensitively, as
GitHub does), it tracks the pushed branch (its ref names the branch, or it has no ref and the
branch is the repository's default), it is not pinned to a commit, and a file the push added,
modified or removed is its path or lies under it (one rule for directory and file artifacts).
GitHub lists at most 20 commits in a push; a push listing 20, or none at all, or a forced push
(whose rewritten history is not listed) may hide files, so every artifact of that repository on
that branch counts.
"""

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import TypedDict

from collections_app.models import Artifact
from refresher.exceptions import InvalidPush
from refresher.sources import SourceKind

BRANCH_PREFIX = "refs/heads/"
COMMIT_CAP = 20  # GitHub lists at most this many commits in a push payload
SHA = re.compile(r"^[0-9a-fA-F]{40}$")


class RepositoryOwner(TypedDict, total=False):
    login: str
    name: str


class PushedRepository(TypedDict, total=False):
    full_name: str
    name: str
    owner: RepositoryOwner
    default_branch: str


class PushedCommit(TypedDict, total=False):
    added: list[str]
    modified: list[str]
    removed: list[str]


class PushPayload(TypedDict, total=False):
    """The parts of GitHub's `push` payload matching reads, in the shapes GitHub documents.

    A delivery is signed, not checked: `parse_push` still checks each value it reads.
    """

    ref: str
    deleted: bool
    forced: bool
    repository: PushedRepository
    commits: list[PushedCommit]


@dataclass(frozen=True)
class Push:
    owner: str
    repo: str
    branch: str  # empty for a tag push or a deleted branch: nothing to refresh
    default_branch: str
    paths: frozenset[str] | None  # None = unknown, every artifact on the branch counts
    full_name: str = ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_push(payload: PushPayload) -> Push:
    """The parts of a push payload that matching uses; InvalidPush when they are missing."""
    repository = payload.get("repository")
    if not isinstance(repository, dict):
        raise InvalidPush("the payload has no repository")
    full_name = _text(repository.get("full_name"))
    owner, _, repo = full_name.partition("/")
    if not owner or not repo:
        owner_obj = repository.get("owner")
        owner_obj = owner_obj if isinstance(owner_obj, dict) else {}
        owner = _text(owner_obj.get("login")) or _text(owner_obj.get("name"))
        repo = _text(repository.get("name"))
    if not owner or not repo:
        raise InvalidPush("the repository has no full_name")
    ref = _text(payload.get("ref"))
    branch = ref[len(BRANCH_PREFIX) :] if ref.startswith(BRANCH_PREFIX) else ""
    if payload.get("deleted") is True:
        branch = ""  # a deleted branch has nothing to read
    commits = payload.get("commits")
    paths: frozenset[str] | None
    if not isinstance(commits, list) or len(commits) >= COMMIT_CAP or payload.get("forced"):
        paths = None
    else:
        touched: set[str] = set()
        for commit in commits:
            if not isinstance(commit, dict):
                continue
            for key in ("added", "modified", "removed"):
                files = commit.get(key)
                if isinstance(files, list):
                    touched.update(f.strip("/") for f in files if isinstance(f, str))
        paths = frozenset(touched)
    return Push(
        owner=owner,
        repo=repo,
        branch=branch,
        default_branch=_text(repository.get("default_branch")),
        paths=paths,
        full_name=f"{owner}/{repo}",
    )


def tracks(artifact: Artifact, push: Push) -> bool:
    """Whether the artifact follows the pushed branch (a pinned artifact follows nothing)."""
    ref = artifact.upstream_ref
    if not ref:
        return bool(push.default_branch) and push.branch == push.default_branch
    if SHA.match(ref):
        return False
    return ref == push.branch


def touched(path: str, changed: frozenset[str] | None) -> bool:
    """Whether a file in `changed` is the artifact at `path` or lies under it."""
    if changed is None:
        return True
    path = path.strip("/")
    if not path:  # the artifact is the whole repository
        return bool(changed)
    prefix = path + "/"
    return any(f == path or f.startswith(prefix) for f in changed)


def match(push: Push) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Collection id -> ids of its artifacts the push touches, for collections that refresh on
    push (one query)."""
    if not push.branch:
        return {}
    candidates = (
        Artifact.objects.filter(
            source_kind=SourceKind.GITHUB.value,
            upstream_owner__iexact=push.owner,
            upstream_repo__iexact=push.repo,
            collection__refresh_on_push=True,
        )
        .only("pk", "collection_id", "upstream_path", "upstream_ref")
        .order_by("collection_id", "type", "name")
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for artifact in candidates:
        if tracks(artifact, push) and touched(artifact.upstream_path, push.paths):
            found[artifact.collection_id].append(artifact.pk)
    return dict(found)
