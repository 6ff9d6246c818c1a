"""The JSON GitHub answers with, as this package reads it: GraphQL answers and REST documents.

Each shape names the fields the read plans and the review read, as GitHub's REST and GraphQL
documentation gives them; what a shape does not name is not read. GitHub may leave out or null
any field, so the GraphQL shapes are `total=False` and readers use `.get()`. Aliased fields
(`r0`, `x3`, `h0_1`) are keys of a query's own making: a repository node under an alias is free
JSON, and each alias inside it is read as its shape with `alias()`.
"""

from typing import NotRequired, TypedDict, cast

from refresher.json_types import JSON, JSONObject

# GraphQL variables as sent: name -> value.
type Variables = dict[str, JSON]
# A query's variables while it is built: name -> (GraphQL type, value).
type Declared = dict[str, tuple[str, JSON]]


def alias[T](node: JSONObject, key: str, shape: type[T]) -> T | None:
    """The object under `key` in an aliased node, read as `shape`; None when absent or null."""
    value = node.get(key)
    return cast(T, value) if isinstance(value, dict) else None


def as_shape[T](value: object, shape: type[T]) -> T:
    """A JSON object read as `shape` (an empty one for anything else: no field is there)."""
    return cast(T, value if isinstance(value, dict) else {})


def node_at(node: JSONObject, key: str) -> JSONObject | None:
    """The JSON object under `key` (a repository's alias, say); None when absent or null."""
    value = node.get(key)
    return value if isinstance(value, dict) else None


def as_object(value: object) -> JSONObject:
    """A JSON object, or an empty one for anything else (a null, a list, a string)."""
    return cast(JSONObject, value) if isinstance(value, dict) else {}


# -- GraphQL -------------------------------------------------------------------------------------


class GraphQLErrorShape(TypedDict, total=False):
    """One entry of a GraphQL answer's `errors` (GitHub adds `type` to the spec's fields)."""

    type: str
    message: str
    path: list[str | int]
    extensions: JSONObject


class GraphQLBody(TypedDict, total=False):
    """A GraphQL answer: `data` (null when the query failed as a whole) and `errors`."""

    data: JSONObject | None
    errors: list[GraphQLErrorShape]


def graphql_body(data: object) -> GraphQLBody:
    """A GraphQL answer's body read as one (an empty one when it is not a JSON object)."""
    return cast(GraphQLBody, data) if isinstance(data, dict) else {}


class RateLimitNode(TypedDict, total=False):
    cost: int
    remaining: int
    resetAt: str


class Login(TypedDict, total=False):
    login: str


class LicenseInfo(TypedDict, total=False):
    spdxId: str | None


class TopicName(TypedDict, total=False):
    name: str


class TopicNode(TypedDict, total=False):
    topic: TopicName | None


class TopicNodes(TypedDict, total=False):
    nodes: list[TopicNode | None] | None


class Oid(TypedDict, total=False):
    oid: str


# `__typename` is not a name a class body may declare (it would be mangled).
RefTarget = TypedDict(
    "RefTarget", {"__typename": str, "oid": str, "target": Oid | None}, total=False
)


class RefNode(TypedDict, total=False):
    name: str
    target: RefTarget | None


class RepositoryFields(TypedDict, total=False):
    """The `RepositoryFields` fragment of the repositories round."""

    nameWithOwner: str
    isPrivate: bool
    owner: Login | None
    licenseInfo: LicenseInfo | None
    repositoryTopics: TopicNodes | None
    defaultBranchRef: RefNode | None


class TreeEntryNode(TypedDict):
    name: str
    type: str  # blob, tree, commit
    mode: int
    oid: str
    size: NotRequired[int]


ListingNode = TypedDict(
    "ListingNode",
    {"__typename": str, "oid": str, "entries": list[TreeEntryNode]},
    total=False,
)


class BlobNode(TypedDict, total=False):
    byteSize: int
    isBinary: bool
    isTruncated: bool
    text: str | None


class Author(TypedDict, total=False):
    name: str | None


class HistoryCommit(TypedDict, total=False):
    oid: str
    message: str
    committedDate: str
    author: Author | None


class HistoryNodes(TypedDict, total=False):
    nodes: list[HistoryCommit] | None


class CommitNode(TypedDict, total=False):
    committedDate: str
    history: HistoryNodes | None


# -- what the GraphQL plan keeps -----------------------------------------------------------------


class PlanListing(TypedDict):
    """A directory as the GraphQL plan caches it: `entries` maps a name to
    `[type, mode, oid, size]` (a list, as JSON gives it back)."""

    type: str | None
    oid: str | None
    entries: dict[str, list[str | int]]


class TextAnswer(TypedDict):
    """A main file's text as the texts round keeps it (cached per blob oid)."""

    text: str | None
    binary: bool
    truncated: bool
    size: int


# -- REST ----------------------------------------------------------------------------------------


class RestOwner(TypedDict, total=False):
    login: str


class RestLicense(TypedDict, total=False):
    spdx_id: str | None


class RestRepository(TypedDict, total=False):
    """`GET /repos/{owner}/{repo}`, the fields `refresher.derive` reads."""

    full_name: str
    private: bool
    owner: RestOwner | None
    license: RestLicense | None
    topics: list[str]
    default_branch: str


class RestGitObject(TypedDict, total=False):
    sha: str
    type: str


class RestRef(TypedDict, total=False):
    """`GET .../git/ref/{ref}` and `GET .../git/tags/{sha}`: what a ref or tag points at."""

    object: RestGitObject


class RestTreeEntry(TypedDict, total=False):
    path: str
    mode: str
    type: str
    sha: str
    size: int


class RestTree(TypedDict, total=False):
    """`GET .../git/trees/{sha}?recursive=1`."""

    sha: str
    tree: list[RestTreeEntry]
    truncated: bool


class RestContentsEntry(TypedDict, total=False):
    """One entry of `GET .../contents/{dir}?ref=`."""

    name: str
    path: str
    type: str  # file, dir, symlink, submodule
    sha: str
    size: int


class RestBlob(TypedDict, total=False):
    """`GET .../git/blobs/{sha}`."""

    content: str
    encoding: str
    size: int


class RestPerson(TypedDict, total=False):
    name: str | None
    date: str


class RestCommitBody(TypedDict, total=False):
    message: str
    author: RestPerson | None
    committer: RestPerson | None


class RestCommit(TypedDict, total=False):
    """`GET .../git/commits/{sha}` (`committer` at the top) or an item of `GET .../commits`
    (`commit.committer`)."""

    sha: str
    committer: RestPerson | None
    commit: RestCommitBody | None
