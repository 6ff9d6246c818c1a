"""Deciding, for one artifact, what upstream changed and what a run would write (no I/O here)."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache

from collections_app.models import Artifact
from refresher.changes import ContentVersion, FieldChange, FieldValue, compare
from refresher.derive import derive_fields
from refresher.exceptions import MetadataError
from refresher.frontmatter import Document, decode, parse_config, parse_markdown
from refresher.models import EntryStatus, Mode
from refresher.options import RefreshOptions
from refresher.upstream.reads import UpstreamRead

CONTENT = "content"


@dataclass(frozen=True, slots=True)
class Decision:
    """What a run decided for one artifact: the entry it records and the values it would write.

    `seen_at` is the artifact's `updated_at` when the run read it: the values are written only
    if the artifact is still as it was then.
    """

    artifact_id: uuid.UUID
    key: str  # `type:name`, as the entry records it
    seen_at: datetime
    status: str
    changes: Mapping[str, FieldChange] = field(default_factory=dict)
    updates: Mapping[str, FieldValue] = field(default_factory=dict)
    reason: str = ""
    error_code: str = ""
    error_message: str = ""
    current_sha: str = ""
    upstream_sha: str = ""
    upstream_content_sha: str = ""
    update_available: bool | None = None
    read: bool = False  # upstream was read successfully (last_refreshed_at moves)
    # More for the owner: a repository's new name, the findings in new content (JSON).
    details: Mapping[str, object] | None = None
    duration_ms: int = 0  # how long its read took, from the start of the run's reads

    @property
    def applied(self) -> bool:
        return any(c["applied"] for c in self.changes.values())


def skipped(
    artifact: Artifact,
    reason: str,
    *,
    message: str = "",
    current_sha: str = "",
    duration_ms: int = 0,
) -> Decision:
    return Decision(
        artifact_id=artifact.id,
        key=artifact.key,
        seen_at=artifact.updated_at,
        status=EntryStatus.SKIPPED,
        reason=reason,
        error_message=message,
        current_sha=current_sha,
        duration_ms=duration_ms,
    )


def errored(
    artifact: Artifact, code: str, message: str, *, current_sha: str = "", duration_ms: int = 0
) -> Decision:
    return Decision(
        artifact_id=artifact.id,
        key=artifact.key,
        seen_at=artifact.updated_at,
        status=EntryStatus.ERROR,
        error_code=code,
        error_message=message,
        current_sha=current_sha,
        duration_ms=duration_ms,
    )


def evaluate(*, artifact: Artifact, upstream: UpstreamRead, options: RefreshOptions) -> Decision:
    """Compare a stored artifact with what upstream says; decide what the run would write.

    A repository GitHub reports under a new name is read through the redirect; the entry says
    so (reason `repository_renamed`, `details.renamed_to`) so the owner can fix the source.
    """
    decision = _unreadable(artifact, upstream) or _compared(artifact, upstream, options)
    if not upstream.renamed_to:
        return decision
    return replace(
        decision,
        details={"renamed_to": upstream.renamed_to},
        reason="repository_renamed" if decision.read else decision.reason,
    )


def _unreadable(artifact: Artifact, upstream: UpstreamRead) -> Decision | None:
    """The entry of an artifact whose upstream could not be read, or None when it was read."""
    sha, took = artifact.resolved_sha, upstream.duration_ms
    if upstream.error is not None:
        error = upstream.error
        return errored(artifact, error.code, error.message, current_sha=sha, duration_ms=took)
    if upstream.skipped is not None:
        skip = upstream.skipped
        return skipped(
            artifact, skip.reason, message=skip.message, current_sha=sha, duration_ms=took
        )
    return None


def _compared(artifact: Artifact, upstream: UpstreamRead, options: RefreshOptions) -> Decision:
    """The decision for an artifact whose upstream was read: what changed, what is written."""
    try:
        document = _document(artifact.type, upstream.main_file, upstream.data or b"")
    except MetadataError as exc:
        return errored(
            artifact,
            exc.code,
            exc.message,
            current_sha=artifact.resolved_sha,
            duration_ms=upstream.duration_ms,
        )
    update_available = (
        artifact.content_sha != upstream.tracked_path_sha if artifact.content_sha else None
    )
    locked = frozenset(artifact.locked_fields or ())
    changes, updates, reasons = _metadata(artifact, document, upstream, options, locked)
    if options.mode == Mode.SYNC:
        if upstream.pinned and artifact.content_sha:
            if update_available:
                reasons.append("pinned")
        elif (sync := _content_sync(artifact, upstream, writes=options.writes)) is not None:
            changes[CONTENT], written = sync
            updates.update(written)
    if options.dry_run and changes:
        reasons.insert(0, "dry_run")
    elif options.mode == Mode.CHECK_ONLY and changes:
        reasons.insert(0, "check_only")
    if update_available is None and CONTENT not in changes:
        reasons.append("no_content_sha")
    refreshed = any(name not in locked for name in changes)
    return Decision(
        artifact_id=artifact.id,
        key=artifact.key,
        seen_at=artifact.updated_at,
        status=EntryStatus.REFRESHED if refreshed else EntryStatus.UNCHANGED,
        changes=changes,
        updates=updates,
        reason=reasons[0] if reasons else "",
        current_sha=artifact.resolved_sha,
        upstream_sha=upstream.tracked_sha,
        upstream_content_sha=upstream.tracked_path_sha,
        update_available=update_available,
        read=True,
        duration_ms=upstream.duration_ms,
    )


def _metadata(
    artifact: Artifact,
    document: Document,
    upstream: UpstreamRead,
    options: RefreshOptions,
    locked: frozenset[str],
) -> tuple[dict[str, FieldChange], dict[str, FieldValue], list[str]]:
    """The chosen metadata fields upstream changes, the values the run writes, and the reasons
    (`locked`) it leaves some alone."""
    upstream_values = _fit_columns(
        derive_fields(document, repository=upstream.repository or {}), type(artifact)
    )
    local = {name: getattr(artifact, name) for name in options.fields}
    found = compare(local=local, upstream=upstream_values, fields=options.fields, locked=locked)
    changes: dict[str, FieldChange] = {}
    updates: dict[str, FieldValue] = {}
    reasons: list[str] = []
    for change in found:
        apply = options.writes and not change.locked
        changes[change.field] = FieldChange(old=change.old, new=change.new, applied=apply)
        if apply:
            updates[change.field] = change.new
        if change.locked:
            reasons.append("locked")
    return changes, updates, reasons


def _content_sync(
    artifact: Artifact, upstream: UpstreamRead, *, writes: bool
) -> tuple[FieldChange, dict[str, FieldValue]] | None:
    """In sync mode, the content change that moves an unpinned artifact to upstream's head (a
    pinned one without recorded content gets it from the pin), and the columns it writes.

    None when the artifact's own files are unchanged: a commit elsewhere in the repository is not
    an update, so nothing is rewritten and the stored commit stays where it is.
    """
    if upstream.pinned:
        commit, path_sha = upstream.read_sha, upstream.read_path_sha
    else:
        commit, path_sha = upstream.tracked_sha, upstream.tracked_path_sha
    if artifact.content_sha == path_sha:
        return None
    text = (upstream.data or b"").decode("utf-8-sig", errors="replace")
    old = ContentVersion(
        text=artifact.content,
        content_sha=artifact.content_sha,
        resolved_sha=artifact.resolved_sha,
    )
    new = ContentVersion(text=text, content_sha=path_sha, resolved_sha=commit)
    written: dict[str, FieldValue] = (
        {CONTENT: text, "content_sha": path_sha, "resolved_sha": commit} if writes else {}
    )
    return FieldChange(old=old, new=new, applied=writes), written


def _fit_columns(values: dict[str, FieldValue], model: type[Artifact]) -> dict[str, FieldValue]:
    """Cut over-long upstream strings to their column's length, as they will be stored.

    Compared uncut, a 400-character title would differ from its stored 300 characters on every
    run (and PostgreSQL and SQLite would store it differently).
    """
    fitted = dict(values)
    for name, value in values.items():
        limit = getattr(model._meta.get_field(name), "max_length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            fitted[name] = value[: limit - 1].rstrip() + "…"
    return fitted


def main_document(kind: str, main_file: str, data: bytes) -> Document:
    """The main file as the run parsed it (kept for the process; raises MetadataError)."""
    return _document(kind, main_file, data)


def _document(kind: str, main_file: str, data: bytes) -> Document:
    config = kind in ("mcp", "hook") and main_file.lower().endswith((".json", ".yaml", ".yml"))
    return _parsed(data, main_file.lower().rsplit(".", 1)[-1] if config else "")


@lru_cache(maxsize=4096)
def _parsed(data: bytes, config_extension: str) -> Document:
    """The parsed main file; the same bytes parse the same, so a process keeps recent parses.

    Parsing YAML is most of a warm refresh's CPU time, and an unchanged collection hands the
    engine the same files run after run. Documents are only read after parsing, never changed.
    Failures raise and are not kept.
    """
    text = decode(data)
    if config_extension:
        return parse_config(text, filename=f"file.{config_extension}")
    return parse_markdown(text)
