"""The shapes of a `collection.toml` (SPEC 11): TOML's values, and the tables the tool writes.

A document as `tomllib` reads it is a `TomlTable` (nothing is known of it until it is checked);
an export writes the tables below, with the keys we do not know added back beside them. Unknown
keys are stored as JSON (`extra.encode_extra`).
"""

from datetime import date, datetime, time
from typing import NotRequired, TypedDict

from refresher.json_types import JSON

# A value `tomllib` reads and `tomli_w` writes: JSON's kinds without null, and TOML's dates and
# times.
type TomlValue = (
    str | int | float | bool | datetime | date | time | list[TomlValue] | dict[str, TomlValue]
)
type TomlTable = dict[str, TomlValue]
# The keys of a table this site does not know, as a JSON column keeps them.
type JSONTable = dict[str, JSON]


class CollectionTable(TypedDict):
    """`[collection]` as an export writes it."""

    name: str
    version: str
    created: str
    updated: str
    description: NotRequired[str]


class MetadataTable(TypedDict, total=False):
    """`[artifacts.metadata]`: only the keys that have a value."""

    title: str
    description: str
    author: str
    license: str
    version: str
    dependencies: list[str]
    topics: list[str]


class UpstreamKeys(TypedDict, total=False):
    """Where an artifact comes from, written when known."""

    upstream: str
    version_spec: str
    resolved_sha: str
    resolved_version: str
    origin_source: str


class HistoryKeys(TypedDict, total=False):
    """When an artifact was last refreshed, and its tags, written when it has them."""

    last_updated: str
    tags: list[str]


class ArtifactTable(UpstreamKeys, HistoryKeys):
    """One `[[artifacts]]` table's known keys as an export writes them (the tool needs `name`,
    `type`, `path`, `origin` and `added` on every entry)."""

    name: str
    type: str
    path: str
    origin: str
    added: str
    uuid: str
