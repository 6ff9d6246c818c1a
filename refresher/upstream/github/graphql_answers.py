"""Reading the GraphQL plan's answers: repositories, ref heads, listings, and their failures.

What GitHub answers is read through `shapes`; what the plan keeps (a repository in the REST
shape `refresher.derive` reads, a directory's listing) is built here, and so is how an artifact
is found in the listings.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

from refresher.exceptions import ReadByRest, ReadFailed
from refresher.frontmatter import MAX_FILE_BYTES
from refresher.json_types import JSON, JSONObject
from refresher.sources import OWNER_RE, REPO_RE
from refresher.upstream.github.graphql_queries import LINK_MODE, RepoScoped, grouped
from refresher.upstream.github.shapes import (
    GraphQLErrorShape,
    ListingNode,
    PlanListing,
    RefNode,
    RepositoryFields,
    as_object,
)
from refresher.upstream.reads import Target, main_file_candidates


@dataclass
class RepoInfo:
    """A repository as the repositories round read it: REST-shaped metadata and ref heads."""

    repository: JSONObject
    default_head: str
    refs: dict[str, tuple[str, str] | None] = field(default_factory=dict)


# A directory's listing per (repository, commit, directory); None: no such path at that commit.
type Listings = dict[tuple[str, str, str], PlanListing | None]


def alias_errors(errors: Iterable[GraphQLErrorShape]) -> dict[str, GraphQLErrorShape]:
    """The first error GitHub reported under each top-level alias."""
    out: dict[str, GraphQLErrorShape] = {}
    for error in errors:
        path = error.get("path") if isinstance(error, dict) else None
        if path:
            out.setdefault(str(path[0]), error)
    return out


def per_repository[K: RepoScoped, R](
    asks: Sequence[K],
    data: JSONObject,
    errors: list[GraphQLErrorShape],
    answer: Callable[[JSONObject, int, K], R | Exception],
) -> dict[K, R | Exception]:
    """Each ask's answer from its repository's alias ``r<i>``, asked as ``answer(node, k, ask)``.

    A repository that came back null fails every ask under it, with the error GitHub gave for
    that alias (a NOT_FOUND is the artifacts' ``upstream_not_found``, not a failed batch).
    """
    by_alias = alias_errors(errors)
    out: dict[K, R | Exception] = {}
    for i, (first, members) in enumerate(grouped(asks)):
        node = data.get(f"r{i}")
        if not isinstance(node, dict):
            failure = alias_failure(by_alias.get(f"r{i}"), f"{first.owner}/{first.name}")
            out.update({ask: failure for _, ask in members})
            continue
        for k, ask in members:
            out[ask] = answer(node, k, ask)
    return out


def alias_failure(error: GraphQLErrorShape | None, what: str) -> Exception:
    """What a null repository alias means for the artifacts under it."""
    if error is not None and error.get("type") == "NOT_FOUND":
        return ReadFailed("upstream_not_found", f"{what} was not found on GitHub")
    if error is not None and error.get("type") == "FORBIDDEN":
        return ReadFailed("upstream_forbidden", f"GitHub refused to show {what}")
    # Anything else GitHub could not resolve under one alias: let REST try it.
    return ReadByRest(str((error or {}).get("message") or f"no answer for {what}"))


def repository_dict(node: RepositoryFields) -> JSONObject:
    """GitHub's GraphQL repository in the REST shape `refresher.derive` reads."""
    license_info = node.get("licenseInfo") or None
    topics = (node.get("repositoryTopics") or {}).get("nodes") or []
    names: list[JSON] = []
    for t in topics:
        topic = (t or {}).get("topic")
        if topic:
            names.append(topic.get("name") or "")
    return {
        "full_name": node.get("nameWithOwner") or "",
        "private": bool(node.get("isPrivate")),
        "owner": {"login": (node.get("owner") or {}).get("login") or ""},
        "license": {"spdx_id": license_info.get("spdxId")} if license_info else None,
        "topics": names,
        "default_branch": (node.get("defaultBranchRef") or {}).get("name") or "",
    }


def ref_head(node: RefNode | None) -> str:
    """The commit a ref points at (an annotated tag peeled once); '' when there is no such ref."""
    target = (node or {}).get("target") or {}
    if target.get("__typename") == "Tag":
        # An annotated tag: the REST plan reads at the object it points to, one level down.
        return str((target.get("target") or {}).get("oid") or "")
    return str(target.get("oid") or "")


def entry_kind(entry: Sequence[str | int]) -> str:
    """dir, file, link or other, from a listing entry's `[type, mode, ...]`."""
    type_, mode = entry[0], int(entry[1])
    if type_ == "tree":
        return "dir"
    if type_ == "blob":
        return "link" if mode == LINK_MODE else "file"
    return "other"


def listing_of(node: ListingNode | None) -> PlanListing | None:
    """A directory's listing as the plan keeps it; None when the path does not exist."""
    if node is None:
        return None
    entries: dict[str, list[str | int]] = {
        e["name"]: [e["type"], e["mode"], e["oid"], e.get("size", 0)]
        for e in node.get("entries") or []
    }
    return {"type": node.get("__typename"), "oid": node.get("oid"), "entries": entries}


def plan_listings(body: object) -> dict[str, PlanListing | None]:
    """The listings of one commit as the HTTP cache keeps them (see `listings_key`)."""
    return cast(dict[str, PlanListing | None], as_object(body))


def parent_of(path: str) -> tuple[str, str]:
    """(parent directory, name) of a path; '' is the root."""
    parent, _, name = path.rpartition("/")
    return parent, name


def file_artifact(target: Target) -> bool:
    """True when the artifact is its main file; else it is a directory holding it."""
    return main_file_candidates(target.type, target.source.path) == [target.source.path]


def lookup(
    listings: Listings, target: Target, commit: str, wanted: str
) -> tuple[str, str, int] | None:
    """(kind, oid, size) of `wanted` at `commit` from the listings; None when it does not exist."""
    repo, path = target.source.full_name.lower(), target.source.path
    if wanted == path and not file_artifact(target):
        listing = listings[(repo, commit, path)]
        if listing is None:
            return None
        return ("dir" if listing["type"] == "Tree" else "file", str(listing["oid"]), 0)
    parent, base = parent_of(wanted)
    found = listings[(repo, commit, parent)]
    if found is None or found["type"] != "Tree":
        return None
    entry = found["entries"].get(base)
    if entry is None:
        return None
    return (entry_kind(entry), str(entry[2]), int(entry[3]))


def valid_name(full_name: str) -> bool:
    """Whether a name GitHub reports is a plain `owner/repo` (never trusted beyond that)."""
    owner, slash, repo = full_name.partition("/")
    return bool(slash) and bool(OWNER_RE.match(owner)) and bool(REPO_RE.match(repo))


def listings_key(repo: str, commit: str) -> str:
    """The HTTP cache key of the directory listings this plan read at a commit, for others that
    need the same listings (the review of an update): `{directory: listing or None}`, where a
    listing is a `PlanListing`. The subdirectories of directory artifacts listed in the texts
    round are there too."""
    return f"graphql:listings:{repo}:{commit}"


def text_key(oid: str) -> str:
    """The HTTP cache key of a blob's text (a `TextAnswer`)."""
    return f"graphql:blob:{oid}"


def too_large(size: int) -> ReadFailed:
    """The error for a main file over the size bound."""
    # The message the REST plan's size check gives, so both plans answer alike.
    return ReadFailed(
        "file_too_large", f"the file is {size} bytes; at most {MAX_FILE_BYTES} are read"
    )
