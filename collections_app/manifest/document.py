"""`collection.toml`, the single-user tool's manifest: reading, checking and writing (SPEC 11).

Pure Python, no database. `parse_manifest` turns the bytes of a manifest into a `Manifest` or
raises `InvalidManifest` naming every bad entry at once (a manifest is imported whole or not at
all). `render_manifest` writes a manifest document back out. Keys this module does not know are
carried along at every level (document, `[collection]`, each artifact, each artifact's metadata)
so that an export gives back what an import took in (`collections_app.manifest.extra`).
"""

import re
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import tomli_w
from django.core.exceptions import ValidationError

from collections_app.manifest.bounds import bound_problem, first_flaw
from collections_app.manifest.extra import unknown_keys
from collections_app.manifest.shapes import JSONTable, TomlTable, TomlValue
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
    extra: JSONTable = field(default_factory=dict)


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
    extra: JSONTable = field(default_factory=dict)

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
    extra: JSONTable = field(default_factory=dict)
    document_extra: JSONTable = field(default_factory=dict)


def entry_label(index: int, kind: object, name: object) -> str:
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
    document = load_document(data, max_bytes=max_bytes, max_artifacts=max_artifacts)
    problems: dict[str, list[str]] = {}
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
    artifacts = _read_entries(document.get("artifacts", []), problems, max_artifacts)
    if problems:
        raise InvalidManifest(problems)
    return Manifest(
        name=name.strip() if name else None,
        version=version,
        description=description,
        created=created,
        updated=updated,
        artifacts=artifacts,
        extra=unknown_keys(table, COLLECTION_KEYS),
        document_extra=unknown_keys(document, DOCUMENT_KEYS),
    )


def load_document(data: bytes | str, *, max_bytes: int, max_artifacts: int) -> TomlTable:
    """The manifest's TOML document, once its size, encoding, shape and values are bounded."""
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
        document: TomlTable = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidManifest({"manifest": [f"The manifest is not valid TOML: {exc}."]}) from None
    except RecursionError:
        raise InvalidManifest({"manifest": ["The manifest is nested too deeply."]}) from None
    flaw = first_flaw(document)
    if flaw is not None:
        raise InvalidManifest({flaw[0]: [flaw[1]]})
    return document


def _read_entries(
    entries: TomlValue, problems: dict[str, list[str]], max_artifacts: int
) -> list[ManifestArtifact]:
    """The `[[artifacts]]` entries that are valid; the others' problems go to `problems`."""
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
    return artifacts


def _read_artifact(
    index: int, entry: TomlValue, problems: dict[str, list[str]]
) -> ManifestArtifact | None:
    if not isinstance(entry, dict):
        problems[f"artifacts[{index}]"] = ["Each entry must be a table ([[artifacts]])."]
        return None
    label = entry_label(index, entry.get("type"), entry.get("name"))
    own: dict[str, list[str]] = {}
    read = _Reader(entry, own)
    name = read.text("name", required=True, limit=_MAX["name"], check=_name_problem)
    kind = read.choice("type", ArtifactType.values, required=True)
    origin = read.choice("origin", Origin.values)
    path = read.text("path", limit=_MAX["path"], check=path_problem)
    upstream = read.text("upstream", limit=_MAX["upstream"])
    version_spec = read.text("version_spec", limit=_MAX["version_spec"])
    resolved_sha = read.text("resolved_sha", check=_sha_problem)
    resolved_version = read.text("resolved_version", limit=_MAX["resolved_version"])
    origin_source = read.text("origin_source", limit=_MAX["origin_source"])
    added = read.when("added")
    last_updated = read.when("last_updated")
    tags = read.strings("tags")
    entry_uuid = read.text("uuid", check=_uuid_problem)
    metadata = _read_metadata(entry, own)
    resolved_sha = resolved_sha.lower() if resolved_sha is not None else None
    source = None if own else _entry_source(origin, upstream, version_spec, resolved_sha, own)
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
        extra=unknown_keys(entry, ARTIFACT_KEYS),
    )


def _name_problem(name: str) -> str | None:
    try:
        validate_artifact_name(name)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return None


def _sha_problem(sha: str) -> str | None:
    return None if _SHA.match(sha) else "must be a full 40-character hexadecimal commit SHA."


def _uuid_problem(text: str) -> str | None:
    try:
        uuid.UUID(text)
    except ValueError:
        return "is not a UUID."
    return None


def _read_metadata(entry: TomlTable, own: dict[str, list[str]]) -> ManifestMetadata | None:
    """An entry's `[artifacts.metadata]` table; None when the entry has none (or a bad one)."""
    if "metadata" not in entry:
        return None
    table = entry["metadata"]
    if not isinstance(table, dict):
        own["metadata"] = ["must be a table ([artifacts.metadata])."]
        return None
    meta = _Reader(table, own, "metadata")
    return ManifestMetadata(
        title=meta.text("title", limit=_MAX["title"]),
        description=meta.text("description"),
        author=meta.text("author", limit=_MAX["author"]),
        license=meta.text("license", limit=_MAX["license"]),
        version=meta.text("version", limit=_MAX["version"]),
        dependencies=meta.strings("dependencies", limit=500),
        topics=meta.strings("topics"),
        extra=unknown_keys(table, METADATA_KEYS),
    )


def _entry_source(
    origin: str | None,
    upstream: str | None,
    version_spec: str | None,
    resolved_sha: str | None,
    own: dict[str, list[str]],
) -> str | None:
    """The source an otherwise valid entry gives its artifact; a bad one is a problem in `own`."""
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
        return None
    # `upstream` fits its limit, but the pin appended to it may not fit the column.
    if source is not None and len(source) > _MAX["upstream"]:
        own["upstream"] = [
            f"with the pin of version_spec the source is longer than {_MAX['upstream']} characters."
        ]
    return source


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

    def __init__(
        self, table: Mapping[str, TomlValue], problems: dict[str, list[str]], prefix: str = ""
    ):
        self.table = table
        self.problems = problems
        self.prefix = prefix

    def fail(self, key: str, message: str) -> None:
        place = f"{self.prefix}.{key}" if self.prefix else key
        self.problems.setdefault(place, []).append(message)

    def _get(self, key: str, required: bool) -> TomlValue | None:
        if key not in self.table:
            if required:
                self.fail(key, "is required.")
            return None
        return self.table[key]

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        limit: int | None = None,
        check: Callable[[str], str | None] | None = None,
    ) -> str | None:
        """A string, at most `limit` long, that `check` (which says what is wrong) accepts."""
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, "must be a string.")
            return None
        if limit is not None and len(value) > limit:
            self.fail(key, f"must be at most {limit} characters long.")
            return None
        problem = check(value) if check is not None else None
        if problem:
            self.fail(key, problem)
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
        items = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
        if not isinstance(value, list) or len(items) != len(value):
            self.fail(key, "must be an array of strings.")
            return None
        if any(not v.strip() or len(v) > limit for v in items):
            self.fail(key, f"items must not be blank or longer than {limit} characters.")
            return None
        return items

    def when(self, key: str) -> datetime | None:
        value = self._get(key, False)
        if value is None:
            return None
        moment = parse_moment(value)
        if moment is None:
            self.fail(key, "must be a date and time (ISO 8601, e.g. 2025-11-02T14:00:00Z).")
        return moment


def parse_moment(value: object) -> datetime | None:
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


# --- writing -------------------------------------------------------------------------------


def render_manifest(document: Mapping[str, object]) -> str:
    """The TOML text of a manifest document (tables in the order given)."""
    return tomli_w.dumps(document)
