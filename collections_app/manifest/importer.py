"""Importing a `collection.toml` into a user's collection (SPEC 11), whole or not at all.

`import_manifest` checks the manifest (`collections_app.manifest.document`), matches each entry
to the
collection's artifacts (by `uuid`, else by type and name), works out what would change, and writes
it in one transaction. One invalid entry means nothing is written. A key absent from an entry
leaves the stored value alone; a key present sets it. Artifacts the manifest does not name are
left as they are. The API action and `manage.py import_collection` both call this.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from collections_app.manifest.document import (
    InvalidManifest,
    Manifest,
    ManifestArtifact,
    parse_manifest,
)
from collections_app.manifest.export import DEFAULT_VERSION, exported_values
from collections_app.models import SOURCE_COLUMNS, Artifact, Collection, Origin
from collections_app.validators import validate_name_characters

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
SKIPPED = "skipped"
STATUSES = (CREATED, UPDATED, UNCHANGED, SKIPPED)
BATCH = 500
# How the report names a changed field: by its manifest key.
MANIFEST_KEYS = {
    "source": "upstream",
    "manifest_upstream": "upstream",
    "manifest_uuid": "uuid",
    "created_at": "added",
    "last_refreshed_at": "last_updated",
    "manifest_extra": "unknown_keys",
    "metadata_extra": "metadata.unknown_keys",
    "metadata_version": "metadata.version",
    **{
        key: f"metadata.{key}"
        for key in ("title", "description", "author", "license", "dependencies", "topics")
    },
}


@dataclass(frozen=True)
class ImportedArtifact:
    """What the import did (or, in a dry run, would do) with one entry."""

    type: str
    name: str
    status: str
    # For `updated`, the fields that changed (comma-separated); for `skipped`, why.
    reason: str | None = None


@dataclass(frozen=True)
class ImportResult:
    collection_id: uuid.UUID | None
    created: bool
    dry_run: bool
    artifacts: list[ImportedArtifact]


def import_manifest(
    data: bytes | str,
    *,
    owner: AbstractBaseUser,
    name: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import a manifest into `owner`'s collection named `name` (else the manifest's name).

    Raises InvalidManifest (400) naming every bad entry, or PayloadTooLarge (413); then nothing
    has been written.
    """
    manifest = parse_manifest(
        data,
        max_bytes=settings.COLLECTION_IMPORT_MAX_BYTES,
        max_artifacts=settings.IMPORT_MAX_ARTIFACTS,
    )
    target = collection_name(manifest, name)
    try:
        return _import(manifest, owner=owner, name=target, dry_run=dry_run)
    except IntegrityError:
        # Another import created the same collection (or artifact) between our read and our
        # write; the database refused ours whole. Once more, now seeing theirs.
        pass
    try:
        return _import(manifest, owner=owner, name=target, dry_run=dry_run)
    except IntegrityError:
        raise InvalidManifest(
            {"artifacts": ["The entries clash with the collection's artifacts (type and name)."]}
        ) from None


def collection_name(manifest: Manifest, override: str | None) -> str:
    """The collection to import into: `override` when given, else `[collection].name`."""
    chosen = override if override is not None else manifest.name
    place = "name" if override is not None else "collection.name"
    if chosen is None:
        raise InvalidManifest(
            {place: ["The manifest has no [collection] name; give one with name."]}
        )
    chosen = chosen.strip()
    if not chosen:
        raise InvalidManifest({place: ["A collection name must not be blank."]})
    if len(chosen) > 200:
        raise InvalidManifest({place: ["A collection name must be at most 200 characters."]})
    try:
        # The manifest's `[collection] name`, `?name=` and `--name` alike (NUL included, which
        # PostgreSQL would refuse with a 500).
        validate_name_characters(chosen)
    except ValidationError as exc:
        raise InvalidManifest({place: exc.messages}) from None
    return chosen


def _import(
    manifest: Manifest, *, owner: AbstractBaseUser, name: str, dry_run: bool
) -> ImportResult:
    with transaction.atomic():
        collection = (
            Collection.objects.select_for_update().filter(owner=owner.pk, name=name).first()
        )
        # The artifacts are locked too: a field this import does not set is written back as read.
        existing = list(collection.artifacts.select_for_update()) if collection else []
        plan = _plan(manifest, existing)
        report = [step.report for step in plan]
        if dry_run:
            return ImportResult(
                collection_id=collection.id if collection else None,
                created=collection is None,
                dry_run=True,
                artifacts=report,
            )
        created = collection is None
        if collection is None:
            collection = Collection.objects.create(owner_id=owner.pk, name=name)
        _apply_collection(collection, manifest, created=created)
        _apply_artifacts(collection, plan)
    return ImportResult(
        collection_id=collection.id, created=created, dry_run=False, artifacts=report
    )


def _apply_collection(collection: Collection, manifest: Manifest, *, created: bool) -> None:
    values: dict[str, object] = {
        "manifest_extra": manifest.extra,
        "manifest_document_extra": manifest.document_extra,
    }
    if manifest.description is not None:
        values["description"] = manifest.description
    # An export writes DEFAULT_VERSION for a collection made on the site; bringing it back
    # changes nothing.
    if manifest.version is not None and (collection.version or manifest.version != DEFAULT_VERSION):
        values["version"] = manifest.version
    changed = [key for key, value in values.items() if getattr(collection, key) != value]
    for key in changed:
        setattr(collection, key, values[key])
    if changed:
        collection.save(update_fields=[*changed, "updated_at"])
    if created and manifest.created is not None:
        # `created` is when the collection began, in the tool; auto_now_add would say "now".
        Collection.objects.filter(pk=collection.pk).update(created_at=manifest.created)


@dataclass
class _Step:
    entry: ManifestArtifact
    artifact: Artifact | None  # the matched artifact; None for a new one or a skipped entry
    values: dict[str, object]
    report: ImportedArtifact


def _uuid_of(value: str | uuid.UUID) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _plan(manifest: Manifest, existing: list[Artifact]) -> list[_Step]:
    """Match every entry to an artifact and work out its values; raise for conflicts."""
    by_uuid: dict[uuid.UUID, Artifact] = {}
    for artifact in existing:
        by_uuid.setdefault(artifact.id, artifact)
        if artifact.manifest_uuid:
            by_uuid[_uuid_of(artifact.manifest_uuid)] = artifact
    by_key = {(a.type, a.name): a for a in existing}
    claimed: dict[uuid.UUID, ManifestArtifact] = {}
    problems: dict[str, list[str]] = {}
    steps: list[_Step] = []

    for entry in manifest.artifacts:
        match = by_uuid.get(_uuid_of(entry.uuid)) if entry.uuid else None
        if match is None:
            match = by_key.get((entry.type, entry.name))
            if match is not None and _another_uuid(entry, match):
                # The collection's artifact of this type and name is another one (its uuid
                # differs): leave it alone rather than overwrite it with a stranger's data.
                report = ImportedArtifact(entry.type, entry.name, SKIPPED, "uuid_conflict")
                steps.append(_Step(entry, None, {}, report))
                continue
        if match is None:
            report = ImportedArtifact(entry.type, entry.name, CREATED)
            steps.append(_Step(entry, None, _values(entry), report))
            continue
        problem = _match_problem(entry, match, claimed=claimed, by_key=by_key)
        if problem is not None:
            problems.setdefault(entry.label, []).append(problem)
            continue
        steps.append(_update(entry, match))

    if problems:
        raise InvalidManifest(problems)
    return steps


def _another_uuid(entry: ManifestArtifact, match: Artifact) -> bool:
    """Whether the entry and the artifact of its type and name carry different uuids."""
    return bool(
        entry.uuid and match.manifest_uuid and _uuid_of(match.manifest_uuid) != _uuid_of(entry.uuid)
    )


def _match_problem(
    entry: ManifestArtifact,
    match: Artifact,
    *,
    claimed: dict[uuid.UUID, ManifestArtifact],
    by_key: dict[tuple[str, str], Artifact],
) -> str | None:
    """Why the entry cannot update the artifact it matched (claiming it when it can), or None."""
    first = claimed.setdefault(match.id, entry)
    if first is not entry:
        return f"uuid: matches the same artifact as {first.label}."
    other = by_key.get((entry.type, entry.name))
    if other is not None and other.id != match.id:
        return (
            f"name: its uuid names the collection's {match.key}, and renaming it would "
            f"clash with the collection's {other.key}."
        )
    return None


def _update(entry: ManifestArtifact, match: Artifact) -> _Step:
    """The step of an entry that matched an artifact: the values that would change it."""
    values = _values(entry)
    if not match.manifest_uuid and entry.uuid and _uuid_of(entry.uuid) == match.id:
        # The uuid an export wrote for an artifact made on the site is its own id.
        del values["manifest_uuid"]
    shown = exported_values(match)
    changed = {
        k: v
        for k, v in values.items()
        if getattr(match, k) != v and (k not in shown or shown[k] != v)
    }
    if changed:
        keys = ",".join(sorted({MANIFEST_KEYS.get(k, k) for k in changed}))
        report = ImportedArtifact(entry.type, entry.name, UPDATED, keys)
    else:
        report = ImportedArtifact(entry.type, entry.name, UNCHANGED)
    return _Step(entry, match, changed, report)


def _values(entry: ManifestArtifact) -> dict[str, object]:
    """The artifact fields an entry sets: only those whose keys the entry has."""
    values: dict[str, object] = {
        "type": entry.type,
        "name": entry.name,
        "manifest_extra": entry.extra,
    }
    optional: dict[str, object] = {
        "source": entry.source,
        "origin": entry.origin,
        "path": entry.path,
        "manifest_upstream": entry.upstream,
        "version_spec": entry.version_spec,
        "resolved_sha": entry.resolved_sha,
        "resolved_version": entry.resolved_version,
        "origin_source": entry.origin_source,
        "manifest_uuid": entry.uuid,
        "tags": entry.tags,
        "created_at": entry.added,
        "last_refreshed_at": entry.last_updated,
    }
    if entry.metadata is not None:
        meta = entry.metadata
        values["metadata_extra"] = meta.extra
        optional.update(
            title=meta.title,
            description=meta.description,
            author=meta.author,
            license=meta.license,
            metadata_version=meta.version,
            dependencies=meta.dependencies,
            topics=meta.topics,
        )
    values.update({key: value for key, value in optional.items() if value is not None})
    return values


def _apply_artifacts(collection: Collection, plan: list[_Step]) -> None:
    now = timezone.now()
    new: list[Artifact] = []
    added: list[tuple[Artifact, datetime]] = []
    changed: list[Artifact] = []
    fields: set[str] = set()
    for step in plan:
        if step.report.status == CREATED:
            values = dict(step.values)
            when = values.pop("created_at", None)
            assert when is None or isinstance(when, datetime)
            values.setdefault(
                "origin", Origin.GITHUB if values.get("manifest_upstream") else Origin.LOCAL
            )
            artifact = Artifact(collection=collection, **values)
            artifact.set_source(artifact.source)
            new.append(artifact)
            if when is not None:
                added.append((artifact, when))
        elif step.report.status == UPDATED:
            assert step.artifact is not None
            artifact = step.artifact
            for key, value in step.values.items():
                setattr(artifact, key, value)
            if "source" in step.values:
                artifact.set_source(artifact.source)
                fields.update(SOURCE_COLUMNS)
            artifact.updated_at = now
            fields.update(step.values)
            fields.add("updated_at")
            changed.append(artifact)
    if new:
        Artifact.objects.bulk_create(new, batch_size=BATCH)
    if added:
        # `added` is when the artifact joined the collection, in the tool; auto_now_add would
        # say "now", so it is written after the insert.
        for artifact, when in added:
            artifact.created_at = when
        Artifact.objects.bulk_update([a for a, _ in added], ["created_at"], batch_size=BATCH)
    if changed:
        Artifact.objects.bulk_update(changed, sorted(fields), batch_size=BATCH)
