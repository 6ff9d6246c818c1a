"""The GraphQL read plan's queries: what each round asks, as text and variables (SPEC 10).

Every query groups its asks under one `r<i>: repository(owner:, name:)` alias per repository and
numbers the asks' own aliases inside it; the answers are read by `graphql_answers`. Every shape
built here is validated against GitHub's published schema in the test suite.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from refresher.upstream.github.shapes import Declared, Variables

TOPICS = 20  # GitHub allows at most 20 topics on a repository
LINK_MODE = 0o120000

REPOSITORY_FIELDS = f"""fragment RepositoryFields on Repository {{
  nameWithOwner
  isPrivate
  owner {{ login }}
  licenseInfo {{ spdxId }}
  repositoryTopics(first: {TOPICS}) {{ nodes {{ topic {{ name }} }} }}
  defaultBranchRef {{ name target {{ oid }} }}
}}"""
LISTING_FIELDS = """fragment Listing on GitObject {
  __typename
  oid
  ... on Tree { entries { name type mode oid size } }
}"""
TEXT_FIELDS = """fragment Text on GitObject {
  ... on Blob { byteSize isBinary isTruncated text }
}"""
RATE_LIMIT = "rateLimit { cost remaining resetAt }"


@dataclass(frozen=True)
class RepoAsk:
    """Round 1, one repository: its name as written and the refs its artifacts track."""

    key: str  # owner/name, lower-cased: GitHub's names are case-insensitive
    owner: str
    name: str
    refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListingAsk:
    """Round 2, one directory of one repository at one commit ('' is the root)."""

    repo: str  # RepoAsk.key
    owner: str
    name: str
    commit: str
    directory: str


@dataclass(frozen=True)
class TextAsk:
    """Round 3, one blob's text, asked by oid in the repository it was found in."""

    repo: str
    owner: str
    name: str
    oid: str
    size: int = 0


def _query(variables: Declared, body: list[str], fragments: Sequence[str]) -> tuple[str, Variables]:
    declared = ", ".join(f"${name}: {kind}" for name, (kind, _) in variables.items())
    text = f"query({declared}) {{\n" + "\n".join(body) + f"\n  {RATE_LIMIT}\n}}\n"
    text += "\n".join(fragments) + "\n"
    return text, {name: value for name, (_, value) in variables.items()}


def repositories_query(asks: Sequence[RepoAsk]) -> tuple[str, Variables]:
    """Round 1: metadata and ref heads of many repositories (alias r<i>, refs h<i>_<j>/t<i>_<j>)."""
    variables: Declared = {}
    body: list[str] = []
    for i, ask in enumerate(asks):
        variables[f"o{i}"] = ("String!", ask.owner)
        variables[f"n{i}"] = ("String!", ask.name)
        lines = [f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{", "    ...RepositoryFields"]
        for j, ref in enumerate(ask.refs):
            variables[f"h{i}_{j}"] = ("String!", f"refs/heads/{ref}")
            variables[f"t{i}_{j}"] = ("String!", f"refs/tags/{ref}")
            lines.append(f"    h{i}_{j}: ref(qualifiedName: $h{i}_{j}) {{ target {{ oid }} }}")
            lines.append(
                f"    t{i}_{j}: ref(qualifiedName: $t{i}_{j}) "
                "{ target { __typename oid ... on Tag { target { oid } } } }"
            )
        lines.append("  }")
        body.extend(lines)
    return _query(variables, body, [REPOSITORY_FIELDS])


class RepoScoped(Protocol):
    """An ask addressed to one repository: its key (lower-cased owner/name) and name as asked."""

    @property
    def repo(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def name(self) -> str: ...


def grouped[A: RepoScoped](asks: Sequence[A]) -> list[tuple[A, list[tuple[int, A]]]]:
    """Asks grouped by repository, in order, each with its index in `asks`."""
    groups: dict[str, tuple[A, list[tuple[int, A]]]] = {}
    for index, ask in enumerate(asks):
        groups.setdefault(ask.repo, (ask, []))[1].append((index, ask))
    return list(groups.values())


def _listing_line(k: int, ask: ListingAsk, variables: Declared) -> str:
    variables[f"e{k}"] = ("String!", f"{ask.commit}:{ask.directory}")
    return f"    x{k}: object(expression: $e{k}) {{ ...Listing }}"


def _text_line(k: int, ask: TextAsk, variables: Declared) -> str:
    variables[f"b{k}"] = ("GitObjectID!", ask.oid)
    return f"    b{k}: object(oid: $b{k}) {{ ...Text }}"


def listings_query(asks: Sequence[ListingAsk]) -> tuple[str, Variables]:
    """Round 2: directories at commits (alias r<i> per repository, x<k> per directory)."""
    variables: Declared = {}
    body: list[str] = []
    for i, (first, members) in enumerate(grouped(asks)):
        variables[f"o{i}"] = ("String!", first.owner)
        variables[f"n{i}"] = ("String!", first.name)
        body.append(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{")
        body.extend(_listing_line(k, ask, variables) for k, ask in members)
        body.append("  }")
    return _query(variables, body, [LISTING_FIELDS])


def texts_query(asks: Sequence[TextAsk | ListingAsk]) -> tuple[str, Variables]:
    """Round 3: blob texts by oid (b<k>), and the subdirectories of directory artifacts (x<k>)
    that the review of their files will need, in the same queries (alias r<i> per repository)."""
    variables: Declared = {}
    body: list[str] = []
    for i, (first, members) in enumerate(grouped(asks)):
        variables[f"o{i}"] = ("String!", first.owner)
        variables[f"n{i}"] = ("String!", first.name)
        body.append(f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{")
        for k, ask in members:
            if isinstance(ask, TextAsk):
                body.append(_text_line(k, ask, variables))
            else:
                body.append(_listing_line(k, ask, variables))
        body.append("  }")
    # Only the fragments the query spreads: GitHub refuses an unused one.
    fragments = [TEXT_FIELDS] if any(isinstance(a, TextAsk) for a in asks) else []
    if any(isinstance(a, ListingAsk) for a in asks):
        fragments.append(LISTING_FIELDS)
    return _query(variables, body, fragments)
