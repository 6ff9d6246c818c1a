"""The database side of a marketplace: a collection and its artifacts read as plain rows.

Two queries whatever the collection's size (the collection with its owner is usually read by
the caller already): the artifacts' columns the manifest uses, with `content` only for hooks
and MCP configs (a skill's text is never loaded). Sources are turned into clone URLs here,
with the site's settings (GitHub's web host, the git hosts allowed), and a hook's or MCP
config's stored file is checked against what sync wrote and parsed here, with the engine's
bounded parser, so `manifest.build` stays pure.
"""

import hashlib
from collections import Counter

from django.conf import settings
from django.db.models import Case, F, QuerySet, TextField, Value, When

from collections_app.marketplace.manifest import (
    CONFIG_EXTENSIONS,
    JSON,
    ArtifactRow,
    CollectionRow,
    ConfigState,
    Marketplace,
    SourceKind,
    build,
    component_config,
    reason_of,
)
from collections_app.models import Artifact, Collection
from refresher.exceptions import InvalidSource, MetadataError
from refresher.frontmatter import parse_config
from refresher.sources import SHA_RE, parse_source
from refresher.sources import SourceKind as Kind

_COLUMNS = (
    "id",
    "type",
    "name",
    "source",
    "source_kind",
    "upstream_owner",
    "upstream_repo",
    "upstream_path",
    "upstream_ref",
    "resolved_sha",
    "content_sha",
    "description",
    "author",
    "license",
    "tags",
    "topics",
)
# What decides whether an artifact is a plugin (`manifest.reason_of`).
_REASON_COLUMNS = (
    "type",
    "source",
    "source_kind",
    "upstream_owner",
    "upstream_repo",
    "upstream_path",
    "upstream_ref",
    "resolved_sha",
    "content_sha",
)
type Values = dict[str, str | list[str]]


def marketplace_of(collection: Collection) -> Marketplace:
    """The collection's marketplace as it is in the database now (one query for the artifacts;
    the collection's owner must be loaded with it, e.g. `select_related("owner")`)."""
    return build(collection_row(collection), artifact_rows(collection))


def collection_row(collection: Collection) -> CollectionRow:
    return CollectionRow(
        name=collection.name,
        owner=collection.owner.get_username(),
        description=collection.description,
        version=collection.version,
    )


def _artifact_values(
    collection: Collection, columns: tuple[str, ...] = _COLUMNS
) -> QuerySet[Artifact, Values]:
    # Only hooks and MCP configs are inlined: other types' main files are not read at all.
    config = Case(
        When(type__in=("hook", "mcp"), then=F("content")),
        default=Value(""),
        output_field=TextField(),
    )
    return (
        Artifact.objects.filter(collection=collection)
        .order_by("type", "name")
        .values(*columns, config=config)
    )


def artifact_rows(collection: Collection) -> list[ArtifactRow]:
    return [_row(values) for values in _artifact_values(collection)]


def reason_counts(collection: Collection) -> Counter[str]:
    """How many of the collection's artifacts are plugins (counted under "") and how many the
    manifest leaves out, per reason: the rule of `build`, reading only the columns it needs
    (what a plugin shows, such as its tags, is not decoded), for pages that only count."""
    return Counter(
        reason_of(row, component_config(row))
        for row in map(_row, _artifact_values(collection, _REASON_COLUMNS))
    )


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _text(values: Values, key: str) -> str:
    value = values.get(key, "")
    return value if isinstance(value, str) else ""


def _row(values: Values) -> ArtifactRow:
    kind, clone_url, path, ref = _where(values)
    kind_of = _text(values, "type")
    state, config = stored_config(
        kind_of, path, _text(values, "config"), _text(values, "content_sha")
    )
    return ArtifactRow(
        id=str(values.get("id", "")),
        type=kind_of,
        name=_text(values, "name"),
        kind=kind,
        clone_url=clone_url,
        path=path,
        ref=ref,
        ref_is_sha=bool(SHA_RE.match(ref)),
        resolved_sha=_text(values, "resolved_sha"),
        description=_text(values, "description"),
        author=_text(values, "author"),
        license=_text(values, "license"),
        tags=_strings(values.get("tags")),
        topics=_strings(values.get("topics")),
        config_state=state,
        config=config,
    )


def synced_blob_sha(text: str) -> tuple[str, ...]:
    """The git blob SHAs a stored file's text can have come from.

    Sync stores a file's bytes decoded as UTF-8 with a leading byte order mark dropped, and
    its blob SHA as `content_sha` (`refresher.evaluate`): the same text gives the same SHA back,
    with or without that mark.
    """
    data = text.encode("utf-8", "surrogatepass")
    return tuple(
        hashlib.sha1(b"blob %d\x00" % len(body) + body, usedforsecurity=False).hexdigest()
        for body in (data, b"\xef\xbb\xbf" + data)
    )


def stored_config(kind: str, path: str, text: str, content_sha: str) -> tuple[ConfigState, JSON]:
    """Whether a hook's or MCP config's stored file is what sync wrote, and the file parsed.

    Only a configuration file (`.json`, `.yaml`, `.yml`) is inlined, so only its blob SHA is
    compared; a file that fails the parser's bounds (an alias bomb, nesting past its depth) is
    None, like any other that does not parse, and is left out as holding no configuration.
    """
    if kind not in ("hook", "mcp") or not path.lower().endswith(CONFIG_EXTENSIONS):
        return "synced", None
    if not content_sha:
        return "unsynced", None
    if content_sha not in synced_blob_sha(text):
        return "modified", None
    try:
        return "synced", parse_config(text, filename=path).meta
    except MetadataError:
        return "synced", None


def _where(values: Values) -> tuple[SourceKind, str, str, str]:
    """(kind, clone URL, path in the repository, ref) of a stored source."""
    stored = _text(values, "source_kind")
    if stored == Kind.GITHUB:
        owner, repo = _text(values, "upstream_owner"), _text(values, "upstream_repo")
        if not owner or not repo:  # a stored spec that no longer parses
            return "invalid", "", "", ""
        url = f"{settings.GITHUB_WEB_URL}/{owner}/{repo}.git"
        return "github", url, _text(values, "upstream_path"), _text(values, "upstream_ref")
    if stored == Kind.GIT:
        # The columns hold a shortened repository path; the source has it all. A host or local
        # root the site no longer allows is a source the site does not read.
        try:
            source = parse_source(_text(values, "source"))
        except InvalidSource:
            return "invalid", "", "", ""
        if source.kind is not Kind.GIT:
            return "unsupported", "", "", ""
        return "git", source.url, source.path, source.ref
    if stored in (Kind.NONE, Kind.LOCAL):
        return "none" if stored == Kind.NONE else "local", "", "", ""
    return "unsupported", "", "", ""
