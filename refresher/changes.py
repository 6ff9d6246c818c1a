"""Comparing local metadata with upstream's, field by field, under the never-erase rule."""

from dataclasses import dataclass
from typing import Any, TypedDict

# The metadata fields a refresh compares and applies (SPEC section 5), in their display order.
FIELDS = ("description", "title", "author", "license", "topics")


class FieldChange(TypedDict):
    """One field of an entry's `changes`, as stored, served by the API and read by rollback.

    `old` and `new` are the field's values; for the `content` change of a sync, ContentVersions.
    `applied` says whether the run wrote `new`.
    """

    old: Any
    new: Any
    applied: bool


class ContentVersion(TypedDict):
    """An artifact's content as one value: its text, its files' tree or blob SHA, its commit."""

    text: str
    content_sha: str
    resolved_sha: str


@dataclass(frozen=True)
class Difference:
    """A chosen field where upstream differs from the local value."""

    field: str
    old: Any
    new: Any
    locked: bool


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set):
        return not value
    return False


def same_value(field: str, local: Any, upstream: Any) -> bool:
    if field == "topics":
        return set(local or []) == set(upstream or [])
    local_text = (local or "").strip()
    upstream_text = (upstream or "").strip()
    if field == "license":
        return local_text.casefold() == upstream_text.casefold()
    return local_text == upstream_text


def _normalized(field: str, value: Any) -> Any:
    if field == "topics":
        return sorted(set(value))
    return value.strip()


def compare(
    *,
    local: dict[str, Any],
    upstream: dict[str, Any],
    fields: tuple[str, ...],
    locked: frozenset[str],
) -> list[Difference]:
    """The chosen fields where upstream has a value that differs from the local one.

    A missing or blank upstream value is never a change: it must not erase what is stored.
    """
    changes = []
    for name in fields:
        new = upstream.get(name)
        if _is_blank(new):
            continue
        old = local.get(name)
        if same_value(name, old, new):
            continue
        changes.append(
            Difference(field=name, old=old, new=_normalized(name, new), locked=name in locked)
        )
    return changes
