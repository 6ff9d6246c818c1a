"""Exporting a collection as a `collection.toml` the single-user tool reads back (SPEC 11).

What an import stored is written back as it came (unknown keys included), so import -> export ->
import changes nothing. The tool needs `name`, `type`, `path`, `origin` and `added` on every
entry; artifacts made on the site get a `path` in the tool's layout and their `created_at`.
"""

import re
import unicodedata
from typing import Any

from collections_app.manifest.document import (
    decode_extra,
    format_moment,
    render_manifest,
    upstream_for_export,
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


def manifest_document(collection: Collection, artifacts: list[Artifact]) -> dict[str, Any]:
    table: dict[str, Any] = {
        "name": collection.name,
        "version": collection.version or DEFAULT_VERSION,
        "created": format_moment(collection.created_at),
        "updated": format_moment(collection.updated_at),
    }
    if collection.description:
        table["description"] = collection.description
    table.update(decode_extra(collection.manifest_extra or {}))
    document: dict[str, Any] = {"collection": table}
    document.update(decode_extra(collection.manifest_document_extra or {}))
    document["artifacts"] = [artifact_entry(a) for a in artifacts]
    return document


def artifact_entry(artifact: Artifact) -> dict[str, Any]:
    """One `[[artifacts]]` table: the tool's keys first, then the unknown ones, then metadata."""
    origin, upstream, version_spec = upstream_for_export(
        source=artifact.source,
        origin=artifact.origin,
        manifest_upstream=artifact.manifest_upstream,
        version_spec=artifact.version_spec,
        resolved_sha=artifact.resolved_sha,
    )
    entry: dict[str, Any] = {
        "name": artifact.name,
        "type": artifact.type,
        "path": artifact.path
        or DEFAULT_PATHS[ArtifactType(artifact.type)].format(name=artifact.name),
        "origin": origin,
    }
    optional: dict[str, Any] = {
        "upstream": upstream,
        "version_spec": version_spec,
        "resolved_sha": artifact.resolved_sha,
        "resolved_version": artifact.resolved_version,
        "origin_source": artifact.origin_source,
    }
    entry.update({key: value for key, value in optional.items() if value})
    entry["added"] = format_moment(artifact.created_at)
    if artifact.last_refreshed_at is not None:
        entry["last_updated"] = format_moment(artifact.last_refreshed_at)
    if artifact.tags:
        entry["tags"] = list(artifact.tags)
    entry["uuid"] = artifact.manifest_uuid or str(artifact.id)
    entry.update(decode_extra(artifact.manifest_extra or {}))

    metadata: dict[str, Any] = {
        key: value
        for key, value in (
            ("title", artifact.title),
            ("description", artifact.description),
            ("author", artifact.author),
            ("license", artifact.license),
            ("version", artifact.metadata_version),
            ("dependencies", list(artifact.dependencies or [])),
            ("topics", list(artifact.topics or [])),
        )
        if value
    }
    metadata.update(decode_extra(artifact.metadata_extra or {}))
    if metadata:
        entry["metadata"] = metadata
    return entry


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
