"""The database side of a marketplace: a collection and its artifacts read as plain rows.

Two queries whatever the collection's size (the collection with its owner is usually read by
the caller already): the artifacts' columns the manifest uses, with `content` only for hooks
and MCP configs (a skill's text is never loaded). Sources are turned into clone URLs here,
with the site's settings (GitHub's web host, the git hosts allowed), so `manifest.build`
stays pure.
"""

from django.conf import settings
from django.db.models import Case, F, QuerySet, TextField, Value, When

from collections_app.marketplace.manifest import (
    ArtifactRow,
    CollectionRow,
    Marketplace,
    SourceKind,
    build,
)
from collections_app.models import Artifact, Collection
from refresher.exceptions import InvalidSource
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
    "description",
    "author",
    "license",
    "tags",
    "topics",
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


def _artifact_values(collection: Collection) -> QuerySet[Artifact, Values]:
    # Only hooks and MCP configs are inlined: other types' main files are not read at all.
    config = Case(
        When(type__in=("hook", "mcp"), then=F("content")),
        default=Value(""),
        output_field=TextField(),
    )
    return (
        Artifact.objects.filter(collection=collection)
        .order_by("type", "name")
        .values(*_COLUMNS, config=config)
    )


def artifact_rows(collection: Collection) -> list[ArtifactRow]:
    return [_row(values) for values in _artifact_values(collection)]


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _text(values: Values, key: str) -> str:
    value = values[key]
    return value if isinstance(value, str) else ""


def _row(values: Values) -> ArtifactRow:
    kind, clone_url, path, ref = _where(values)
    return ArtifactRow(
        id=str(values["id"]),
        type=_text(values, "type"),
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
        tags=_strings(values["tags"]),
        topics=_strings(values["topics"]),
        content=_text(values, "config"),
    )


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
