"""Exporting a collection as a `collection.toml` the single-user tool reads back (SPEC 11).

What an import stored is written back as it came (unknown keys included), so import -> export ->
import changes nothing. The tool needs `name`, `type`, `path`, `origin` and `added` on every
entry; artifacts made on the site get a `path` in the tool's layout and their `created_at`.
"""

import re
import unicodedata

from collections_app.manifest.document import format_moment, render_manifest, upstream_for_export
from collections_app.manifest.extra import decode_table
from collections_app.manifest.shapes import (
    ArtifactTable,
    CollectionTable,
    HistoryKeys,
    MetadataTable,
    UpstreamKeys,
)
from collections_app.models import Artifact, ArtifactType, Collection

# Where the tool keeps each type inside a collection directory.
DEFAULT_PATHS = {
    ArtifactType.SKILL: "skills/{name}",
    ArtifactType.COMMAND: "commands/{name}.md",
    ArtifactType.AGENT: "agents/{name}.md",
    ArtifactType.HOOK: "hooks/{name}.json",
    ArtifactType.MCP: "mcp/{name}.json",
}
DEFAULT_VERSION = "1.0.0"


def export_manifest(collection: Collection) -> str:
    """The collection as TOML text."""
    artifacts = collection.artifacts.order_by("type", "name", "id")
    return render_manifest(manifest_document(collection, list(artifacts)))


def manifest_document(collection: Collection, artifacts: list[Artifact]) -> dict[str, object]:
    """The document: `[collection]`, the document's unknown keys, then the `[[artifacts]]`."""
    table: CollectionTable = {
        "name": collection.name,
        "version": collection.version or DEFAULT_VERSION,
        "created": format_moment(collection.created_at),
        "updated": format_moment(collection.updated_at),
    }
    if collection.description:
        table["description"] = collection.description
    return {
        "collection": {**table, **decode_table(collection.manifest_extra or {})},
        **decode_table(collection.manifest_document_extra or {}),
        "artifacts": [artifact_entry(a) for a in artifacts],
    }


def artifact_entry(artifact: Artifact) -> dict[str, object]:
    """One `[[artifacts]]` table: the tool's keys first, then the unknown ones, then metadata."""
    origin, upstream, version_spec = upstream_for_export(
        source=artifact.source,
        origin=artifact.origin,
        manifest_upstream=artifact.manifest_upstream,
        version_spec=artifact.version_spec,
        resolved_sha=artifact.resolved_sha,
    )
    entry: ArtifactTable = {
        "name": artifact.name,
        "type": artifact.type,
        "path": artifact_path(artifact),
        "origin": origin,
        **_upstream_keys(artifact, upstream=upstream, version_spec=version_spec),
        "added": format_moment(artifact.created_at),
        **_history_keys(artifact),
        "uuid": artifact.manifest_uuid or str(artifact.id),
    }
    unknown = decode_table(artifact.manifest_extra or {})
    metadata = {**_metadata(artifact), **decode_table(artifact.metadata_extra or {})}
    return {**entry, **unknown, **({"metadata": metadata} if metadata else {})}


def _upstream_keys(
    artifact: Artifact, *, upstream: str | None, version_spec: str | None
) -> UpstreamKeys:
    keys: UpstreamKeys = {}
    if upstream:
        keys["upstream"] = upstream
    if version_spec:
        keys["version_spec"] = version_spec
    if artifact.resolved_sha:
        keys["resolved_sha"] = artifact.resolved_sha
    if artifact.resolved_version:
        keys["resolved_version"] = artifact.resolved_version
    if artifact.origin_source:
        keys["origin_source"] = artifact.origin_source
    return keys


def _history_keys(artifact: Artifact) -> HistoryKeys:
    keys: HistoryKeys = {}
    if artifact.last_refreshed_at is not None:
        keys["last_updated"] = format_moment(artifact.last_refreshed_at)
    if artifact.tags:
        keys["tags"] = list(artifact.tags)
    return keys


def _metadata(artifact: Artifact) -> MetadataTable:
    """`[artifacts.metadata]`'s known keys that have a value."""
    table: MetadataTable = {}
    if artifact.title:
        table["title"] = artifact.title
    if artifact.description:
        table["description"] = artifact.description
    if artifact.author:
        table["author"] = artifact.author
    if artifact.license:
        table["license"] = artifact.license
    if artifact.metadata_version:
        table["version"] = artifact.metadata_version
    if artifact.dependencies:
        table["dependencies"] = list(artifact.dependencies)
    if artifact.topics:
        table["topics"] = list(artifact.topics)
    return table


def exported_values(artifact: Artifact) -> dict[str, str]:
    """The manifest-only fields as an export writes them for this artifact, also where nothing
    is stored (an artifact made on the site): an import that brings these back changes nothing.
    """
    origin, upstream, version_spec = upstream_for_export(
        source=artifact.source,
        origin=artifact.origin,
        manifest_upstream=artifact.manifest_upstream,
        version_spec=artifact.version_spec,
        resolved_sha=artifact.resolved_sha,
    )
    return {
        "origin": origin,
        "manifest_upstream": upstream or "",
        "version_spec": version_spec or "",
        "path": artifact_path(artifact),
    }


def artifact_path(artifact: Artifact) -> str:
    return artifact.path or DEFAULT_PATHS[ArtifactType(artifact.type)].format(name=artifact.name)


def manifest_filename(collection: Collection) -> str:
    """A file name for the download that is safe in a header and on any file system."""
    ascii_name = unicodedata.normalize("NFKD", collection.name).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", ascii_name).strip(" ._")[:100].strip(" ._")
    return f"{safe or 'collection'}.toml"
