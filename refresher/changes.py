"""Comparing local metadata with upstream's, field by field, under the never-erase rule."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypedDict

# The metadata fields a refresh compares and applies (SPEC section 5), in their display order.
FIELDS = ("description", "title", "author", "license", "topics")

# A value a run writes to an artifact's column: a text, or the topics' list.
type FieldValue = str | list[str]


class ContentVersion(TypedDict):
    """An artifact's content as one value: its text, its files' tree or blob SHA, its commit."""

    text: str
    content_sha: str
    resolved_sha: str


# A value in an entry's `changes`: a metadata field's (None where the artifact had none), or
# the content of a sync.
type ChangeValue = FieldValue | ContentVersion | None


class FieldChange(TypedDict):
    """One field of an entry's `changes`, as stored, served by the API and read by rollback.

    `old` and `new` are the field's values; for the `content` change of a sync, ContentVersions.
    `applied` says whether the run wrote `new`.
    """

    old: ChangeValue
    new: ChangeValue
    applied: bool


@dataclass(frozen=True)
class Difference:
    """A chosen field where upstream differs from the local value."""

    field: str
    old: FieldValue | None
    new: FieldValue
    locked: bool


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set):
        return not value
    return False


def same_value(field: str, local: object, upstream: object) -> bool:
    """Whether a field's stored value and another (upstream's, or a run's) say the same.

    Values come from the database and from stored entries: a text field's value that is not a
    string, or a topics value that cannot be iterated, counts as blank.
    """
    if field == "topics":
        return _items(local) == _items(upstream)
    local_text, upstream_text = _stripped(local), _stripped(upstream)
    if field == "license":
        return local_text.casefold() == upstream_text.casefold()
    return local_text == upstream_text


def _items(value: object) -> set[object]:
    return set(value) if isinstance(value, Iterable) and value else set()


def _stripped(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _normalized(field: str, value: FieldValue) -> FieldValue:
    if isinstance(value, list):
        return sorted(set(value))
    return value.strip()


def compare(
    *,
    local: Mapping[str, FieldValue | None],
    upstream: Mapping[str, FieldValue],
    fields: tuple[str, ...],
    locked: frozenset[str],
) -> list[Difference]:
    """The chosen fields where upstream has a value that differs from the local one.

    A missing or blank upstream value is never a change: it must not erase what is stored.
    """
    changes = []
    for name in fields:
        new = upstream.get(name)
        if new is None or _is_blank(new):
            continue
        old = local.get(name)
        if same_value(name, old, new):
            continue
        changes.append(
            Difference(field=name, old=old, new=_normalized(name, new), locked=name in locked)
        )
    return changes
