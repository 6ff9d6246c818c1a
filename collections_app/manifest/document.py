"""`collection.toml`, the single-user tool's manifest: reading, checking and writing (SPEC 11).

Pure Python, no database. `parse_manifest` turns the bytes of a manifest into a `Manifest` or
raises `InvalidManifest` naming every bad entry at once (a manifest is imported whole or not at
all). `render_manifest` writes a manifest document back out. Keys this module does not know are
carried along at every level (document, `[collection]`, each artifact, each artifact's metadata)
so that an export gives back what an import took in; `encode_extra` makes them fit a JSON column
and `decode_extra` restores them, TOML dates and times included.
"""

import math
import re
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import Any

import tomli_w
from django.core.exceptions import ValidationError

from collections_app.manifest.bounds import bound_problem, first_flaw
from collections_app.models import ArtifactType, Origin, validate_artifact_name
from refresher.exceptions import InvalidRequest, InvalidSource, PayloadTooLarge
from refresher.sources import parse_source

DOCUMENT_KEYS = frozenset({"collection", "artifacts"})
COLLECTION_KEYS = frozenset({"name", "version", "created", "updated", "description"})
ARTIFACT_KEYS = frozenset(
    {
        "name",
        "type",
        "path",
        "origin",
        "upstream",
        "version_spec",
        "resolved_sha",
        "resolved_version",
        "origin_source",
        "added",
        "last_updated",
        "tags",
        "uuid",
        "metadata",
    }
)
METADATA_KEYS = frozenset(
    {"title", "description", "author", "license", "version", "dependencies", "topics"}
)
LATEST = "latest"

_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_HEX = re.compile(r"^[0-9a-fA-F]{7,40}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The tag under which values JSON cannot hold (TOML dates and times, NaN, infinities) are kept.
_TAG = "$toml"
# Limits of the columns the values land in.
_MAX = {
    "name": 200,
    "path": 500,
    "upstream": 500,
    "version_spec": 255,
    "resolved_version": 200,
    "origin_source": 200,
    "title": 300,
    "author": 200,
    "license": 100,
    "version": 100,
    "item": 100,
}


class InvalidManifest(InvalidRequest):
    """A manifest that cannot be imported; `details` maps each bad place to its messages."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        places = ", ".join(problems)
        entries = sum(1 for place in problems if place.startswith("artifacts["))
        if entries:
            noun = "entry" if entries == 1 else "entries"
            message = f"The manifest has {entries} invalid {noun} ({places}); nothing was imported."
        else:
            first = next(iter(problems.values()))[0]
            message = f"{places}: {first} Nothing was imported."
        super().__init__(message, details=problems)


@dataclass(frozen=True)
class ManifestMetadata:
    """An artifact's `[artifacts.metadata]` table; None means the key was absent."""

    title: str | None = None
    description: str | None = None
    author: str | None = None
    license: str | None = None
    version: str | None = None
    dependencies: list[str] | None = None
    topics: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ManifestArtifact:
    """One `[[artifacts]]` entry, checked; None means the key was absent from the entry.

    `source` is what the site refreshes from: `upstream` with the pin of `version_spec` /
    `resolved_sha` (None when the entry says nothing about where the artifact comes from).
    """

    index: int
    name: str
    type: str
    origin: str | None
    source: str | None
    path: str | None = None
    upstream: str | None = None
    version_spec: str | None = None
    resolved_sha: str | None = None
    resolved_version: str | None = None
    origin_source: str | None = None
    added: datetime | None = None
    last_updated: datetime | None = None
    tags: list[str] | None = None
    uuid: str | None = None
    metadata: ManifestMetadata | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return entry_label(self.index, self.type, self.name)


@dataclass(frozen=True)
class Manifest:
    """A whole manifest: the `[collection]` table, the entries, and the keys we do not know."""

    name: str | None
    version: str | None
    description: str | None
    created: datetime | None
    updated: datetime | None
    artifacts: list[ManifestArtifact]
    extra: dict[str, Any] = field(default_factory=dict)
    document_extra: dict[str, Any] = field(default_factory=dict)


def entry_label(index: int, kind: Any, name: Any) -> str:
    """How an entry is named in error details: its index, and its type and name when known."""
    if isinstance(kind, str) and isinstance(name, str) and kind and name:
        return f"artifacts[{index}] ({kind}:{name})"
    return f"artifacts[{index}]"


# --- reading -------------------------------------------------------------------------------


def parse_manifest(data: bytes | str, *, max_bytes: int, max_artifacts: int) -> Manifest:
    """Read and check a manifest; raise InvalidManifest naming every problem, or PayloadTooLarge.

    The text's shape is bounded (`bounds`) before `tomllib` reads it, so a manifest built to
    keep the parser busy is refused at once; at most `max_artifacts` entries are taken.
    """
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise PayloadTooLarge(
            f"The manifest is larger than {max_bytes} bytes.", details={"max_bytes": max_bytes}
        )
    if not raw.strip():
        raise InvalidManifest({"manifest": ["The manifest is empty."]})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidManifest({"manifest": ["The manifest is not UTF-8 text."]}) from None
    problem = bound_problem(text, max_artifacts=max_artifacts)
    if problem is not None:
        raise InvalidManifest({"manifest": [problem]})
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidManifest({"manifest": [f"The manifest is not valid TOML: {exc}."]}) from None
    except RecursionError:
        raise InvalidManifest({"manifest": ["The manifest is nested too deeply."]}) from None

    problems: dict[str, list[str]] = {}
    flaw = first_flaw(document)
    if flaw is not None:
        raise InvalidManifest({flaw[0]: [flaw[1]]})

    table = document.get("collection", {})
    if not isinstance(table, dict):
        problems["collection"] = ["[collection] must be a table."]
        table = {}
    collection = _Reader(table, problems, "collection")
    name = collection.text("name", limit=_MAX["name"])
    if name is not None and not name.strip():
        collection.fail("name", "must not be blank.")
    version = collection.text("version", limit=_MAX["version"])
    description = collection.text("description")
    created = collection.when("created")
    updated = collection.when("updated")

    entries = document.get("artifacts", [])
    if not isinstance(entries, list):
        problems["artifacts"] = ["artifacts must be an array of tables ([[artifacts]])."]
        entries = []
    if len(entries) > max_artifacts:
        message = f"At most {max_artifacts} artifacts are imported at once (IMPORT_MAX_ARTIFACTS)."
        raise InvalidManifest({"artifacts": [message]})
    artifacts: list[ManifestArtifact] = []
    for index, entry in enumerate(entries):
        artifact = _read_artifact(index, entry, problems)
        if artifact is not None:
            artifacts.append(artifact)
    _check_duplicates(artifacts, problems)

    if problems:
        raise InvalidManifest(problems)
    return Manifest(
        name=name.strip() if name else None,
        version=version,
        description=description,
        created=created,
        updated=updated,
        artifacts=artifacts,
        extra=_unknown(table, COLLECTION_KEYS),
        document_extra=_unknown(document, DOCUMENT_KEYS),
    )


def _read_artifact(
    index: int, entry: Any, problems: dict[str, list[str]]
) -> ManifestArtifact | None:
    if not isinstance(entry, dict):
        problems[f"artifacts[{index}]"] = ["Each entry must be a table ([[artifacts]])."]
        return None
    label = entry_label(index, entry.get("type"), entry.get("name"))
    own: dict[str, list[str]] = {}
    read = _Reader(entry, own)

    name = read.text("name", required=True, limit=_MAX["name"])
    if name is not None:
        try:
            validate_artifact_name(name)
        except ValidationError as exc:
            read.fail("name", " ".join(exc.messages))
    kind = read.choice("type", ArtifactType.values, required=True)
    origin = read.choice("origin", Origin.values)
    path = read.text("path", limit=_MAX["path"])
    if path is not None:
        problem = path_problem(path)
        if problem:
            read.fail("path", problem)
    upstream = read.text("upstream", limit=_MAX["upstream"])
    version_spec = read.text("version_spec", limit=_MAX["version_spec"])
    resolved_sha = read.text("resolved_sha")
    if resolved_sha is not None:
        if _SHA.match(resolved_sha):
            resolved_sha = resolved_sha.lower()
        else:
            read.fail("resolved_sha", "must be a full 40-character hexadecimal commit SHA.")
    resolved_version = read.text("resolved_version", limit=_MAX["resolved_version"])
    origin_source = read.text("origin_source", limit=_MAX["origin_source"])
    added = read.when("added")
    last_updated = read.when("last_updated")
    tags = read.strings("tags")
    entry_uuid = read.text("uuid")
    if entry_uuid is not None:
        try:
            uuid.UUID(entry_uuid)
        except ValueError:
            read.fail("uuid", "is not a UUID.")

    metadata: ManifestMetadata | None = None
    if "metadata" in entry:
        table = entry["metadata"]
        if isinstance(table, dict):
            meta = _Reader(table, own, "metadata")
            metadata = ManifestMetadata(
                title=meta.text("title", limit=_MAX["title"]),
                description=meta.text("description"),
                author=meta.text("author", limit=_MAX["author"]),
                license=meta.text("license", limit=_MAX["license"]),
                version=meta.text("version", limit=_MAX["version"]),
                dependencies=meta.strings("dependencies", limit=500),
                topics=meta.strings("topics"),
                extra=_unknown(table, METADATA_KEYS),
            )
        else:
            own["metadata"] = ["must be a table ([artifacts.metadata])."]

    source: str | None = None
    if not own:
        try:
            source = derive_source(
                origin=origin,
                upstream=upstream,
                version_spec=version_spec,
                resolved_sha=resolved_sha,
                strict=True,
            )
        except InvalidSource as exc:
            own["upstream"] = [f"is not a valid source: {exc}."]
        else:
            # `upstream` fits its limit, but the pin appended to it may not fit the column.
            if source is not None and len(source) > _MAX["upstream"]:
                own["upstream"] = [
                    f"with the pin of version_spec the source is longer than "
                    f"{_MAX['upstream']} characters."
                ]

    if own:
        problems[label] = [f"{place}: {message}" for place, msgs in own.items() for message in msgs]
        return None
    assert name is not None and kind is not None
    return ManifestArtifact(
        index=index,
        name=name,
        type=kind,
        origin=origin,
        source=source,
        path=path,
        upstream=upstream,
        version_spec=version_spec,
        resolved_sha=resolved_sha,
        resolved_version=resolved_version,
        origin_source=origin_source,
        added=added,
        last_updated=last_updated,
        tags=tags,
        uuid=entry_uuid,
        metadata=metadata,
        extra=_unknown(entry, ARTIFACT_KEYS),
    )


def _check_duplicates(artifacts: list[ManifestArtifact], problems: dict[str, list[str]]) -> None:
    """Two entries of the same type and name, or with the same uuid, cannot both be imported."""
    seen_keys: dict[tuple[str, str], ManifestArtifact] = {}
    seen_uuids: dict[uuid.UUID, ManifestArtifact] = {}
    for artifact in artifacts:
        first = seen_keys.setdefault((artifact.type, artifact.name), artifact)
        if first is not artifact:
            problems.setdefault(artifact.label, []).append(
                f"name: duplicate of {first.label}; a type and name may appear only once."
            )
        if artifact.uuid:
            same = seen_uuids.setdefault(uuid.UUID(artifact.uuid), artifact)
            if same is not artifact:
                problems.setdefault(artifact.label, []).append(
                    f"uuid: the same uuid as {same.label}."
                )


def path_problem(path: str) -> str | None:
    """Why a manifest `path` is refused, or None: it must stay inside the collection."""
    if not path.strip():
        return "must not be blank."
    if _CONTROL.search(path):
        return "must not contain control characters."
    if path.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", path):
        return "must be relative to the collection (no leading '/', '\\', '~' or drive)."
    if any(piece == ".." for piece in re.split(r"[\\/]", path)):
        return "must not contain '..'."
    return None


class _Reader:
    """Typed reads of one TOML table; problems are collected under `prefix.key`."""

    def __init__(self, table: dict[str, Any], problems: dict[str, list[str]], prefix: str = ""):
        self.table = table
        self.problems = problems
        self.prefix = prefix

    def fail(self, key: str, message: str) -> None:
        place = f"{self.prefix}.{key}" if self.prefix else key
        self.problems.setdefault(place, []).append(message)

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.table:
            if required:
                self.fail(key, "is required.")
            return None
        return self.table[key]

    def text(self, key: str, *, required: bool = False, limit: int | None = None) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, "must be a string.")
            return None
        if limit is not None and len(value) > limit:
            self.fail(key, f"must be at most {limit} characters long.")
            return None
        return value

    def choice(self, key: str, choices: list[str], *, required: bool = False) -> str | None:
        value = self.text(key, required=required)
        if value is not None and value not in choices:
            self.fail(key, f"unknown value {value!r}; choose from {', '.join(choices)}.")
            return None
        return value

    def strings(self, key: str, *, limit: int = _MAX["item"]) -> list[str] | None:
        value = self._get(key, False)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "must be an array of strings.")
            return None
        if any(not v.strip() or len(v) > limit for v in value):
            self.fail(key, f"items must not be blank or longer than {limit} characters.")
            return None
        return list(value)

    def when(self, key: str) -> datetime | None:
        value = self._get(key, False)
        if value is None:
            return None
        moment = parse_moment(value)
        if moment is None:
            self.fail(key, "must be a date and time (ISO 8601, e.g. 2025-11-02T14:00:00Z).")
        return moment


def parse_moment(value: Any) -> datetime | None:
    """A TOML datetime or an ISO 8601 string as an aware UTC datetime; one without an offset is
    taken as UTC (the single-user tool writes UTC times without one)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_moment(value: datetime) -> str:
    """How the manifest writes a time: ISO 8601 in UTC with its offset, as the tool reads it."""
    return value.astimezone(UTC).isoformat()


# --- sources -------------------------------------------------------------------------------


def pinned_ref(version_spec: str | None, resolved_sha: str | None) -> str:
    """The ref a `version_spec` pins: a tag, branch or SHA; "" for `latest` or none.

    An abbreviated SHA that `resolved_sha` starts with pins to the full SHA, so the pin is
    exact and recognised as one.
    """
    spec = (version_spec or "").strip()
    if not spec or spec.lower() == LATEST:
        return ""
    if _HEX.match(spec) and resolved_sha and resolved_sha.lower().startswith(spec.lower()):
        return resolved_sha.lower()
    if _SHA.match(spec):
        return spec.lower()
    return spec


def derive_source(
    *,
    origin: str | None,
    upstream: str | None,
    version_spec: str | None,
    resolved_sha: str | None,
    strict: bool = False,
) -> str | None:
    """The `source` an entry gives an artifact; raise InvalidSource for a bad upstream or pin.

    `strict` (what an import uses: it writes the source) also refuses a git source the site
    does not allow (GIT_ALLOWED_HOSTS, GIT_ALLOW_LOCAL), as every other write of a source does.

    Local artifacts have an empty source; an entry with no `upstream` says nothing (None). A
    pin replaces a ref written in the upstream URL; other hosts and local paths are kept as
    written (they are never refreshed, so a pin has nothing to act on). Every refreshable kind
    of source carries the pin in its canonical spec.
    """
    if origin == Origin.LOCAL:
        return ""
    if upstream is None:
        return None
    text = upstream.strip()
    parsed = parse_source(text, strict=strict)
    ref = pinned_ref(version_spec, resolved_sha)
    if not ref or parsed.ref == ref or not parsed.refreshable:
        return text
    spec = replace(parsed, ref=ref).spec()
    if parse_source(spec, strict=strict).ref != ref:
        raise InvalidSource(f"version_spec {ref!r} cannot be used as a git ref")
    return spec


def upstream_for_export(
    *,
    source: str,
    origin: str,
    manifest_upstream: str,
    version_spec: str,
    resolved_sha: str,
) -> tuple[str, str | None, str | None]:
    """`origin`, `upstream` and `version_spec` to write for an artifact.

    The manifest's own `upstream`/`version_spec` are written back while they still give the
    artifact's source; a source set or changed through the site is written in its short form
    with its ref as the `version_spec`.
    """
    if manifest_upstream or origin == Origin.LOCAL:
        try:
            derived = derive_source(
                origin=origin or None,
                upstream=manifest_upstream or None,
                version_spec=version_spec or None,
                resolved_sha=resolved_sha or None,
            )
        except InvalidSource:
            derived = None
        if derived == source or (derived is None and not source):
            return origin or Origin.GITHUB, manifest_upstream or None, version_spec or None
    if not source:
        return origin or Origin.LOCAL, None, version_spec or None
    kept_origin = origin if origin and origin != Origin.LOCAL else Origin.GITHUB
    try:
        parsed = parse_source(source)
    except InvalidSource:
        return kept_origin, source, version_spec or None
    if parsed.refreshable:
        return kept_origin, replace(parsed, ref="").spec(), parsed.ref or LATEST
    return kept_origin, source, version_spec or None


# --- unknown keys --------------------------------------------------------------------------


def _unknown(table: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {key: encode_extra(value) for key, value in table.items() if key not in known}


def encode_extra(value: Any) -> Any:
    """A TOML value as JSON: dates, times and non-finite floats are tagged so they come back."""
    if isinstance(value, datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "value": value.isoformat()}
    if isinstance(value, time):
        return {_TAG: "time", "value": value.isoformat()}
    if isinstance(value, float) and not math.isfinite(value):
        return {_TAG: "float", "value": repr(value)}
    if isinstance(value, list):
        return [encode_extra(item) for item in value]
    if isinstance(value, dict):
        encoded = {key: encode_extra(item) for key, item in value.items()}
        # A table of the user's that happens to look like a tag is wrapped, so it is not read
        # back as one.
        return {_TAG: "table", "value": encoded} if _TAG in value else encoded
    return value


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "float": float,
}


def decode_extra(value: Any) -> Any:
    """The inverse of `encode_extra`."""
    if isinstance(value, list):
        return [decode_extra(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {_TAG, "value"}:
            if value[_TAG] == "table":
                return {key: decode_extra(item) for key, item in value["value"].items()}
            decoder = _DECODERS.get(value[_TAG])
            if decoder is not None:
                return decoder(value["value"])
        return {key: decode_extra(item) for key, item in value.items()}
    return value


# --- writing -------------------------------------------------------------------------------


def render_manifest(document: dict[str, Any]) -> str:
    """The TOML text of a manifest document (tables in the order given)."""
    return tomli_w.dumps(document)
