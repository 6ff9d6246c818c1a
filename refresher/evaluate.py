"""Deciding, for one artifact, what upstream changed and what a run would write (no I/O here)."""

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from collections_app.models import Artifact
from refresher.changes import ContentVersion, FieldChange, compare
from refresher.derive import derive_fields
from refresher.exceptions import MetadataError
from refresher.frontmatter import Document, decode, parse_config, parse_markdown
from refresher.models import EntryStatus, Mode
from refresher.options import RefreshOptions
from refresher.upstream.reads import UpstreamArtifact

CONTENT = "content"


@dataclass
class Outcome:
    """The entry a run records for one artifact, and the values it would write."""

    status: str
    changes: dict[str, FieldChange] = field(default_factory=dict)
    updates: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    error_code: str = ""
    error_message: str = ""
    current_sha: str = ""
    upstream_sha: str = ""
    upstream_content_sha: str = ""
    update_available: bool | None = None
    read: bool = False  # upstream was read successfully (last_refreshed_at moves)
    details: dict[str, Any] | None = None  # more for the owner, e.g. a repository's new name

    @property
    def applied(self) -> bool:
        return any(c["applied"] for c in self.changes.values())


def skipped(reason: str, *, current_sha: str = "") -> Outcome:
    return Outcome(status=EntryStatus.SKIPPED, reason=reason, current_sha=current_sha)


def errored(code: str, message: str, *, current_sha: str = "") -> Outcome:
    return Outcome(
        status=EntryStatus.ERROR, error_code=code, error_message=message, current_sha=current_sha
    )


def evaluate(*, artifact: Artifact, upstream: UpstreamArtifact, options: RefreshOptions) -> Outcome:
    """Compare a stored artifact with what upstream says; decide what the run would write.

    A repository GitHub reports under a new name is read through the redirect; the entry says
    so (reason `repository_renamed`, `details.renamed_to`) so the owner can fix the source.
    """
    out = _evaluate(artifact=artifact, upstream=upstream, options=options)
    if upstream.renamed_to:
        out.details = {"renamed_to": upstream.renamed_to}
        if out.read:
            out.reason = "repository_renamed"
    return out


def _evaluate(
    *, artifact: Artifact, upstream: UpstreamArtifact, options: RefreshOptions
) -> Outcome:
    current_sha = artifact.resolved_sha
    if upstream.error is not None:
        return errored(upstream.error.code, upstream.error.message, current_sha=current_sha)
    if upstream.skipped is not None:
        out = skipped(upstream.skipped.reason, current_sha=current_sha)
        out.error_message = upstream.skipped.message
        return out
    try:
        document = _document(artifact.type, upstream.main_file, upstream.data or b"")
    except MetadataError as exc:
        return errored(exc.code, exc.message, current_sha=current_sha)

    upstream_values = _fit_columns(
        derive_fields(document, repository=upstream.repository or {}), type(artifact)
    )
    local = {name: getattr(artifact, name) for name in options.fields}
    locked = frozenset(artifact.locked_fields or ())
    found = compare(local=local, upstream=upstream_values, fields=options.fields, locked=locked)

    out = Outcome(
        status=EntryStatus.UNCHANGED,
        current_sha=current_sha,
        upstream_sha=upstream.tracked_sha,
        upstream_content_sha=upstream.tracked_path_sha,
        read=True,
    )
    if artifact.content_sha:
        out.update_available = artifact.content_sha != upstream.tracked_path_sha
    reasons: list[str] = []
    for change in found:
        apply = options.writes and not change.locked
        out.changes[change.field] = FieldChange(old=change.old, new=change.new, applied=apply)
        if apply:
            out.updates[change.field] = change.new
        if change.locked:
            reasons.append("locked")

    if options.mode == Mode.SYNC:
        _plan_content_sync(
            artifact,
            upstream,
            document_text=upstream.data,
            out=out,
            options=options,
            reasons=reasons,
        )

    if any(name not in locked for name in out.changes):
        out.status = EntryStatus.REFRESHED
    if options.dry_run and out.changes:
        reasons.insert(0, "dry_run")
    elif options.mode == Mode.CHECK_ONLY and out.changes:
        reasons.insert(0, "check_only")
    if out.update_available is None and CONTENT not in out.changes:
        reasons.append("no_content_sha")
    out.reason = reasons[0] if reasons else ""
    return out


def _plan_content_sync(
    artifact: Artifact,
    upstream: UpstreamArtifact,
    *,
    document_text: bytes | None,
    out: Outcome,
    options: RefreshOptions,
    reasons: list[str],
) -> None:
    """In sync mode, move content to upstream's head, unless the artifact is pinned.

    A pinned artifact keeps its pin; one that has no content recorded yet gets it from the pin.
    """
    if upstream.pinned and artifact.content_sha:
        if out.update_available:
            reasons.append("pinned")
        return
    if upstream.pinned:
        commit, path_sha = upstream.read_sha, upstream.read_path_sha
    else:
        commit, path_sha = upstream.tracked_sha, upstream.tracked_path_sha
    if artifact.content_sha == path_sha:
        # The artifact's own files are unchanged: a commit elsewhere in the repository is not
        # an update, so nothing is rewritten and the stored commit stays where it is.
        return
    text = (document_text or b"").decode("utf-8-sig", errors="replace")
    old = ContentVersion(
        text=artifact.content,
        content_sha=artifact.content_sha,
        resolved_sha=artifact.resolved_sha,
    )
    new = ContentVersion(text=text, content_sha=path_sha, resolved_sha=commit)
    out.changes[CONTENT] = FieldChange(old=old, new=new, applied=options.writes)
    if options.writes:
        out.updates.update(content=text, content_sha=path_sha, resolved_sha=commit)


def _fit_columns(values: dict[str, Any], model: type[Artifact]) -> dict[str, Any]:
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
