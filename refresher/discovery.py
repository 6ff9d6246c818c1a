"""Adding a repository's artifacts at once (SPEC section 11, "Discovery").

One tree read of the repository at the ref finds, under the source's path: skills (directories
holding `SKILL.md`), agents (`agents/*.md`), commands (`commands/*.md`), hooks (`hooks/*.json`),
MCP configs (`.mcp.json`), the same under `.claude/`, and the same again in every plugin directory
a Claude Code marketplace manifest (`.claude-plugin/marketplace.json`) lists, or that holds a
plugin manifest (`.claude-plugin/plugin.json`). Names come from the
main file's frontmatter `name` (the main files are read in one batch), else from the directory or
file name. What is new is added in one transaction; what the collection already has (same type
and name) is left alone and reported `exists`. A dry run adds nothing.

The repository is read through the provider that serves the source's kind, so GitHub and git
sources are discovered alike.
"""

import posixpath
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from collections_app.models import Artifact, ArtifactType, Collection, validate_artifact_name
from refresher.credentials.access import access_for, mark_used
from refresher.engine import Refresher
from refresher.exceptions import (
    InvalidRequest,
    InvalidSource,
    MetadataError,
    ReadFailed,
    ReadSkipped,
    RefreshInProgress,
    UpstreamUnavailable,
)
from refresher.factory import refresher_from_settings
from refresher.frontmatter import decode, load_json, parse_markdown
from refresher.json_types import JSON
from refresher.models import Mode, RefreshRun, Trigger
from refresher.options import ArtifactFilter, RefreshOptions
from refresher.runs import Requester
from refresher.service import launch
from refresher.sources import Source, parse_source
from refresher.upstream.browse import Browser, Snapshot
from refresher.upstream.httpcache import HttpCache
from refresher.upstream.provider import Provider, ReadContext

MARKETPLACE = ".claude-plugin/marketplace.json"
PLUGIN_MANIFEST = ".claude-plugin/plugin.json"
# Entry codes that say the repository, ref or path is not there (or not ours to read): they are
# reported in the answer. Anything else (GitHub down, out of quota) is a 503.
NOT_THERE = frozenset(
    {"upstream_not_found", "upstream_forbidden", "upstream_unauthorized", "credentials_required"}
)
MAX_ARTIFACTS = 1000
_ORDER = {kind: i for i, kind in enumerate(ArtifactType.values)}
# The directories (relative to a root) whose files are agents, commands and hooks.
_DIRS = {
    "agents": ArtifactType.AGENT,
    ".claude/agents": ArtifactType.AGENT,
    "commands": ArtifactType.COMMAND,
    ".claude/commands": ArtifactType.COMMAND,
}
_HOOK_DIRS = ("hooks", ".claude/hooks")
_NAMED_BY_FRONTMATTER = frozenset({ArtifactType.SKILL, ArtifactType.AGENT, ArtifactType.COMMAND})


class Status:
    ADDED = "added"
    EXISTS = "exists"
    INVALID = "invalid"
    FOUND = "found"


@dataclass
class Found:
    """One artifact discovery found (or one thing it could not use), as the answer lists it."""

    type: str | None
    name: str
    path: str
    source: str
    status: str = Status.FOUND
    reason: str = ""
    message: str = ""
    main_file: str = field(default="", repr=False)
    blob_sha: str = field(default="", repr=False)


@dataclass
class Discovery:
    source: str
    ref: str
    commit: str
    dry_run: bool
    artifacts: list[Found]
    run: RefreshRun | None = None


@dataclass(frozen=True)
class DiscoverRequest:
    source: str
    types: tuple[str, ...] = ()
    dry_run: bool = False
    refresh: bool = False


# -- finding artifacts in a tree (pure) ---------------------------------------------------------


def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def scan(
    entries: dict[str, tuple[str, str]], root: str, *, source: Source, context_name: str
) -> list[Found]:
    """Every artifact the conventional layout puts under `root` (a directory of the tree)."""
    prefix = f"{root}/" if root else ""
    found: list[Found] = []

    def add(kind: str, path: str, name: str, main_file: str, sha: str) -> None:
        found.append(
            Found(
                type=kind,
                name=name,
                path=path,
                source=source.at(path).spec(),
                main_file=main_file,
                blob_sha=sha,
            )
        )

    for path, (kind, sha) in entries.items():
        if kind != "file" or not path.startswith(prefix):
            continue
        rel = path[len(prefix) :]
        parent, _, filename = rel.rpartition("/")
        if filename == "SKILL.md":
            directory = _join(root, parent)
            name = posixpath.basename(directory) or context_name
            add(ArtifactType.SKILL, directory, name, path, sha)
        elif parent in _DIRS and filename.endswith(".md") and filename.lower() != "readme.md":
            add(_DIRS[parent], path, filename[: -len(".md")], path, sha)
        elif parent in _HOOK_DIRS and filename.endswith(".json"):
            stem = filename[: -len(".json")]
            add(ArtifactType.HOOK, path, context_name if stem == "hooks" else stem, path, sha)
        elif rel == ".mcp.json":
            add(ArtifactType.MCP, path, context_name, path, sha)
    return found


def plugin_directories(
    manifest: JSON, manifest_path: str, entries: dict[str, tuple[str, str]], *, source: Source
) -> tuple[list[tuple[str, str]], list[Found]]:
    """(plugin name, directory) of each plugin the marketplace keeps in this repository, and
    what could not be used. Relative sources resolve from the marketplace root (the directory
    holding `.claude-plugin/`), or from `metadata.pluginRoot`; none may leave the repository."""
    root = manifest_path[: -len(MARKETPLACE)].rstrip("/")
    problems: list[Found] = []

    def problem(name: str, reason: str, message: str) -> None:
        problems.append(
            Found(
                type=None,
                name=name,
                path=manifest_path,
                source=source.at(manifest_path).spec(),
                status=Status.INVALID,
                reason=reason,
                message=message,
            )
        )

    listed = manifest.get("plugins") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or not isinstance(listed, list):
        problem("", "invalid_metadata", "the marketplace manifest has no `plugins` list")
        return [], problems
    metadata = manifest.get("metadata")
    plugin_root = metadata.get("pluginRoot") if isinstance(metadata, dict) else None
    plugin_root = plugin_root if isinstance(plugin_root, str) else ""
    out: list[tuple[str, str]] = []
    for plugin in listed:
        name = plugin.get("name") if isinstance(plugin, dict) else None
        if not isinstance(plugin, dict) or not isinstance(name, str) or not name.strip():
            problem("", "invalid_metadata", "a plugin entry has no name")
            continue
        name = name.strip()
        where = plugin.get("source")
        if isinstance(where, dict):
            # A plugin kept in another repository: discover that repository on its own.
            problem(name, "external_source", f"plugin {name!r} lives in another repository")
            continue
        if not isinstance(where, str) or "://" in where or where.startswith(("/", "~")):
            problem(name, "invalid_source", f"plugin {name!r} has no relative `source` path")
            continue
        bases = [posixpath.normpath(_join(root, plugin_root)), root] if plugin_root else [root]
        directory, inside = _plugin_directory(bases, where.strip(), entries)
        if not inside:
            problem(name, "invalid_source", f"plugin {name!r}: {where!r} leaves the repository")
            continue
        if directory is None:
            problem(name, "upstream_not_found", f"plugin {name!r}: no directory {where!r}")
            continue
        out.append((name, directory))
    return out, problems


def _plugin_directory(
    bases: list[str], where: str, entries: dict[str, tuple[str, str]]
) -> tuple[str | None, bool]:
    """The first directory `where` names from one of the bases, and whether any of them kept
    it inside the repository (a path that leaves it is never followed)."""
    inside = False
    for base in bases:
        candidate = posixpath.normpath(_join(base, where))
        candidate = "" if candidate == "." else candidate
        if candidate == ".." or candidate.startswith(("../", "/")):
            continue
        inside = True
        if candidate == "" or entries.get(candidate, ("",))[0] == "dir":
            return candidate, True
    return None, inside


# -- the service ---------------------------------------------------------------------------------


def provider_for(refresher: Refresher, source: Source) -> Provider:
    """The provider that browses the source's kind of repository."""
    provider = refresher.provider_for(source.kind)
    if provider is None:
        raise InvalidRequest(
            "This kind of source cannot be discovered.",
            details={"source": ["Give a GitHub or git repository source."]},
        )
    return provider


def parse_discover_source(text: str) -> Source:
    try:
        source = parse_source(text, strict=True)
    except InvalidSource as exc:
        raise InvalidRequest(
            f"source: {exc}", details={"source": [f"Invalid source: {exc}."]}
        ) from None
    if not source.refreshable:
        raise InvalidRequest(
            "source: not a repository that can be read",
            details={"source": ["Give a GitHub (owner/repo[/path][@ref]) or git+ source."]},
        )
    return source


def discover(
    collection: Collection,
    request: DiscoverRequest,
    *,
    refresher: Refresher,
    user: Requester = None,
    request_id: str = "",
) -> Discovery:
    """Find the artifacts of a repository, add the new ones, and refresh them if asked."""
    source = parse_discover_source(request.source)
    provider = provider_for(refresher, source)
    cache = HttpCache()
    context = ReadContext(
        cache=cache,
        concurrency=settings.REFRESH_CONCURRENCY,
        deadline=time.monotonic() + settings.REFRESH_INLINE_DEADLINE,
        # The repository is read with the collection's credentials, as its refreshes are.
        access=access_for(collection),
    )
    browser = provider.browser(context)
    try:
        try:
            snapshot = browser.snapshot(source)
        except (ReadFailed, ReadSkipped) as exc:
            return _not_there(source, request, exc, retry_after=_retry_after(provider))
        found = _find(snapshot, browser, source)
    finally:
        cache.flush()
        mark_used(provider.used_credentials)
    if request.types:
        found = [f for f in found if f.type is None or f.type in request.types]
    _name_check(found)
    if request.refresh and not request.dry_run:
        _refuse_if_busy(collection)
    added = _add(collection, found, dry_run=request.dry_run)
    discovery = Discovery(
        source=source.spec(),
        ref=snapshot.ref,
        commit=snapshot.commit,
        dry_run=request.dry_run,
        artifacts=sorted(found, key=lambda f: (_ORDER.get(f.type or "", 99), f.path, f.name)),
    )
    if request.refresh and added:
        discovery.run = _refresh(collection, added, user=user, request_id=request_id)
    return discovery


def _retry_after(provider: Provider) -> int | None:
    """Seconds until the provider's rate limit resets, when it is used up (None for git)."""
    rate = provider.rate_limit
    return None if rate is None else rate.retry_after()


def _not_there(
    source: Source,
    request: DiscoverRequest,
    exc: ReadFailed | ReadSkipped,
    *,
    retry_after: int | None = None,
) -> Discovery:
    code = exc.code if isinstance(exc, ReadFailed) else exc.reason
    if code not in NOT_THERE:
        raise UpstreamUnavailable(
            f"The repository could not be read: {exc.message}",
            details={"reason": code},
            retry_after=retry_after if code == "rate_limited" else None,
        )
    entry = Found(
        type=None,
        name="",
        path=source.path,
        source=source.spec(),
        status=Status.INVALID,
        reason=code,
        message=exc.message,
    )
    return Discovery(
        source=source.spec(),
        ref=source.ref,
        commit="",
        dry_run=request.dry_run,
        artifacts=[entry],
    )


def _find(snapshot: Snapshot, browser: Browser, source: Source) -> list[Found]:
    entries, base = snapshot.entries, source.path
    if base and entries.get(base, ("",))[0] != "dir":
        return [
            Found(
                type=None,
                name="",
                path=base,
                source=source.spec(),
                status=Status.INVALID,
                reason="upstream_not_found",
                message=f"{base!r} is not a directory of {source.full_name}@{snapshot.ref}",
            )
        ]
    base_name = posixpath.basename(base) or source.repo
    found = scan(entries, base, source=source, context_name=base_name)
    listed, problems = _marketplace(snapshot, browser, source)
    found.extend(listed)
    # Plugins that no marketplace lists are known by their own manifest; scanned after the
    # marketplace's, so a name the marketplace gives wins.
    for path, (kind, _) in entries.items():
        if kind == "file" and path.endswith(PLUGIN_MANIFEST) and _within(path, base):
            directory = path[: -len(PLUGIN_MANIFEST)].rstrip("/")
            if directory != base:
                name = posixpath.basename(directory) or source.repo
                found.extend(scan(entries, directory, source=source, context_name=name))
    unique: dict[tuple[str | None, str], Found] = {}
    for item in found:
        unique.setdefault((item.type, item.path), item)
    found = list(unique.values())
    if len(found) > MAX_ARTIFACTS:
        raise InvalidRequest(
            f"source: more than {MAX_ARTIFACTS} artifacts found; give a narrower path",
            details={"source": [f"More than {MAX_ARTIFACTS} artifacts; give a narrower path."]},
        )
    _names_from_frontmatter(found, snapshot, browser)
    _source_check(found, source)
    if snapshot.truncated:
        # The host listed only part of the tree: say so rather than pass the part for the whole.
        problems.append(
            Found(
                type=None,
                name="",
                path=base,
                source=source.spec(),
                status=Status.INVALID,
                reason="truncated_tree",
                message=f"the tree of {source.full_name}@{snapshot.ref} is too large to be "
                "listed at once; the artifacts found are incomplete",
            )
        )
    return found + problems


def _marketplace(
    snapshot: Snapshot, browser: Browser, source: Source
) -> tuple[list[Found], list[Found]]:
    """The artifacts of the plugins the marketplace manifest under the source's path lists, and
    what in it could not be used (nothing when there is no manifest)."""
    entries, manifest_path = snapshot.entries, _join(source.path, MARKETPLACE)
    if entries.get(manifest_path, ("",))[0] != "file":
        return [], []
    manifest_sha = entries[manifest_path][1]
    manifest = _json(browser.read_blobs(snapshot, [manifest_sha]).get(manifest_sha))
    if isinstance(manifest, Found):
        spec = source.at(manifest_path).spec()
        return [], [replace(manifest, path=manifest_path, source=spec)]
    plugins, problems = plugin_directories(manifest, manifest_path, entries, source=source)
    found: list[Found] = []
    for plugin_name, directory in plugins:
        found.extend(scan(entries, directory, source=source, context_name=plugin_name))
    return found, problems


def _source_check(found: list[Found], source: Source) -> None:
    """A path the source spec cannot spell is invalid: a tree may name a directory with a
    space, a newline or an '@' (which would read back as a ref), or nest it deeper than the
    artifact's source can hold, and the artifact added must point at the path that was found,
    or not be added at all."""
    limit = Artifact._meta.get_field("source").max_length or 0
    for item in found:
        try:
            if len(item.source) > limit:
                raise InvalidSource(f"it is longer than {limit} characters")
            parsed = parse_source(item.source)
        except InvalidSource as exc:
            message = str(exc)
        else:
            if (parsed.kind, parsed.path, parsed.ref) == (source.kind, item.path, source.ref):
                continue
            message = f"{item.path!r} does not read back from the source {item.source!r}"
        item.status, item.reason = Status.INVALID, "invalid_source"
        item.message = f"the path cannot be written as a source: {message}"


def _within(path: str, base: str) -> bool:
    return not base or path.startswith(base + "/")


def _json(data: bytes | ReadFailed | None) -> JSON | Found:
    if not isinstance(data, bytes):
        code = data.code if data is not None else "upstream_not_found"
        message = "the marketplace manifest is unreadable"
        return Found(None, "", "", "", Status.INVALID, code, message)
    try:
        return load_json(decode(data))
    except MetadataError as exc:
        message = f"the marketplace manifest is not usable JSON: {exc.message}"
        return Found(None, "", "", "", Status.INVALID, "invalid_metadata", message)


def _names_from_frontmatter(found: list[Found], snapshot: Snapshot, browser: Browser) -> None:
    """Read the main files of skills, agents and commands in one batch for their `name`."""
    wanted = [f for f in found if f.type in _NAMED_BY_FRONTMATTER]
    blobs = browser.read_blobs(snapshot, {f.blob_sha for f in wanted}) if wanted else {}
    for item in wanted:
        data = blobs.get(item.blob_sha)
        if isinstance(data, ReadFailed) or data is None:
            item.status, item.reason = Status.INVALID, data.code if data else "upstream_not_found"
            item.message = data.message if data else "the main file could not be read"
            continue
        try:
            meta = parse_markdown(decode(data)).meta
        except MetadataError as exc:
            item.status, item.reason, item.message = Status.INVALID, exc.code, exc.message
            continue
        name = meta.get("name")
        if isinstance(name, str) and name.strip():
            item.name = name.strip()


def _name_check(found: list[Found]) -> None:
    """Names the collection could not hold, and the second of two alike, are invalid."""
    seen: set[tuple[str | None, str]] = set()
    for item in found:
        if item.status == Status.INVALID:
            continue
        try:
            validate_artifact_name(item.name)
            if len(item.name) > 200:
                raise ValidationError("A name must be at most 200 characters.")
        except ValidationError as exc:
            item.status, item.reason, item.message = Status.INVALID, "invalid_name", exc.messages[0]
            continue
        key = (item.type, item.name)
        if key in seen:
            item.status, item.reason = Status.INVALID, "duplicate_name"
            item.message = f"another {item.type} found here is named {item.name!r}"
            continue
        seen.add(key)


def _refuse_if_busy(collection: Collection) -> None:
    """With `refresh`, a busy collection is refused before anything is added."""
    active = RefreshRun.objects.filter(collection=collection, status__in=["queued", "running"])
    run = active.first()
    if run is not None:
        raise RefreshInProgress(
            "This collection is already being refreshed; nothing was added.",
            details={"run_id": str(run.pk)},
        )


def _add(collection: Collection, found: Iterable[Found], *, dry_run: bool) -> list[Artifact]:
    """Add what is new in one transaction; the collection row is locked against a second
    discovery racing this one."""
    candidates = [f for f in found if f.status != Status.INVALID and f.type is not None]
    with transaction.atomic():
        if not dry_run:
            Collection.objects.select_for_update().filter(pk=collection.pk).first()
        existing = set(Artifact.objects.filter(collection=collection).values_list("type", "name"))
        new: list[Artifact] = []
        for item in candidates:
            if (item.type, item.name) in existing:
                item.status = Status.EXISTS
                continue
            item.status = Status.FOUND if dry_run else Status.ADDED
            if not dry_run:
                artifact = Artifact(collection=collection, type=item.type or "", name=item.name)
                artifact.set_source(item.source)
                new.append(artifact)
        if new:
            Artifact.objects.bulk_create(new)
    return new


def _refresh(
    collection: Collection, added: list[Artifact], *, user: Requester, request_id: str
) -> RefreshRun:
    """Sync the added artifacts: besides metadata this records their content and content SHA,
    from which later refreshes tell whether an update is available."""
    options = RefreshOptions(
        mode=Mode.SYNC, artifact_filter=ArtifactFilter(ids=tuple(a.pk for a in added))
    )
    try:
        return launch(
            collection,
            options,
            trigger=Trigger.API,
            user=user,
            request_id=request_id,
            deadline_seconds=settings.REFRESH_INLINE_DEADLINE,
        ).run
    except UpstreamUnavailable as exc:
        # The artifacts are added; the failed run is the answer's `run`.
        return RefreshRun.objects.get(pk=str((exc.details or {})["run_id"]))


def discover_now(
    collection: Collection,
    request: DiscoverRequest,
    *,
    user: Requester = None,
    request_id: str = "",
) -> Discovery:
    """Discover with the production providers (GitHub, git) built from settings."""
    with refresher_from_settings() as refresher:
        return discover(collection, request, refresher=refresher, user=user, request_id=request_id)
