"""What upstream says about an artifact: the records every provider and read plan share.

The engine hands a provider `Target`s and gets back one `UpstreamArtifact` per target, whichever
provider (GitHub through REST or GraphQL, a git host) answered.
"""

from dataclasses import dataclass, field
from typing import Any

from refresher.exceptions import ReadFailed, ReadSkipped
from refresher.sources import Source


@dataclass(frozen=True)
class Target:
    """One artifact to read: its id, type and parsed source."""

    id: Any
    type: str
    source: Source


@dataclass
class UpstreamArtifact:
    """What upstream says about one artifact, or why it could not be read."""

    repository: dict[str, Any] | None = None
    pinned: bool = False
    read_sha: str = ""  # the commit the metadata was read at (the pin, or the tracked head)
    tracked_sha: str = ""  # head of the tracked ref (the default branch for a pinned artifact)
    read_path_sha: str = ""  # tree/blob SHA of the artifact's path at read_sha
    tracked_path_sha: str = ""  # the same at tracked_sha: differs from content_sha = update
    main_file: str = ""
    data: bytes | None = None
    error: ReadFailed | None = None
    skipped: ReadSkipped | None = None
    duration_ms: int = 0  # from the start of the reads until this artifact was done
    renamed_to: str = ""  # the repository's new `owner/name` when GitHub redirected its old one
    # Internal: the blob SHA of the main file, fetched in the last wave.
    blob_sha: str = field(default="", repr=False)


def main_file_candidates(kind: str, path: str) -> list[str]:
    """Where an artifact's main file may be, most specific first (SPEC section 4)."""

    def join(name: str) -> str:
        return f"{path}/{name}" if path else name

    if kind == "skill":
        # A skill is a directory; a link straight to its SKILL.md names the file itself.
        return [path] if path.lower().endswith(".md") else [join("SKILL.md")]
    if kind == "hook" and path.lower().endswith(".json"):
        return [path]  # a hooks file (`hooks/hooks.json`) is its own main file
    if kind == "mcp":
        if path.lower().endswith((".json", ".yaml", ".yml")):
            return [path]
        return [join("README.md")]
    if path.lower().endswith(".md"):
        return [path]
    return [join(f"{kind.upper()}.md"), join("README.md")]
