"""What upstream says about an artifact: the records every provider and read plan share.

The engine hands a provider `Target`s and gets back one frozen `UpstreamRead` per target, whichever
provider (GitHub through REST or GraphQL, a git host) answered. While a reader works it keeps its
own mutable `Reading` per target and freezes it once, when it is done with that target.
"""

import uuid
from dataclasses import dataclass, field

from refresher.exceptions import ReadFailed, ReadSkipped
from refresher.json_types import JSONObject
from refresher.sources import Source


@dataclass(frozen=True, slots=True)
class Target:
    """One artifact to read: its id, type and parsed source.

    `at_commit` (an approval of a reviewed update) reads the artifact at that commit and takes it
    as the tracked head, whatever its ref's head is now.
    """

    id: uuid.UUID
    type: str
    source: Source
    at_commit: str = ""


@dataclass(frozen=True, slots=True)
class UpstreamRead:
    """What upstream said about one artifact, or why it could not be read."""

    repository: JSONObject | None = None
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


@dataclass(slots=True)
class Reading:
    """A reader's working state for one target while it reads; `freeze()` gives its answer."""

    repository: JSONObject | None = None
    pinned: bool = False
    read_sha: str = ""
    tracked_sha: str = ""
    read_path_sha: str = ""
    tracked_path_sha: str = ""
    main_file: str = ""
    data: bytes | None = None
    error: ReadFailed | None = None
    skipped: ReadSkipped | None = None
    duration_ms: int = 0
    renamed_to: str = ""
    # The blob SHA of the main file, fetched in the last wave; the engine never needs it.
    blob_sha: str = field(default="", repr=False)

    def freeze(self) -> UpstreamRead:
        return UpstreamRead(
            repository=self.repository,
            pinned=self.pinned,
            read_sha=self.read_sha,
            tracked_sha=self.tracked_sha,
            read_path_sha=self.read_path_sha,
            tracked_path_sha=self.tracked_path_sha,
            main_file=self.main_file,
            data=self.data,
            error=self.error,
            skipped=self.skipped,
            duration_ms=self.duration_ms,
            renamed_to=self.renamed_to,
        )


def freeze_all(readings: dict[uuid.UUID, Reading]) -> dict[uuid.UUID, UpstreamRead]:
    """Every target's answer, once a reader is done with all of them."""
    return {target_id: reading.freeze() for target_id, reading in readings.items()}


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


def place_at_refs(
    item: Reading,
    source: Source,
    *,
    default_sha: str,
    own: tuple[str, str] | None,
) -> None:
    """Which commit an artifact is read at and which head it tracks (both read plans).

    `own` is the (kind, sha) its own ref resolved to, when it names one that is not a SHA. A SHA
    or a tag pins the artifact: it is read there and tracks the default branch (SPEC 4).
    """
    item.tracked_sha = item.read_sha = default_sha
    if source.pinned_to_sha:
        item.pinned, item.read_sha = True, source.ref
    elif own is not None:
        kind, sha = own
        item.read_sha = sha
        if kind == "branch":
            item.tracked_sha = sha
        else:
            item.pinned = True
