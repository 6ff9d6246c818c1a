"""What a refresh was asked to do, already validated (see collections_app's RefreshRequest)."""

import fnmatch
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from refresher.changes import FIELDS
from refresher.models import Mode


class FilterData(TypedDict, total=False):
    """An artifact filter as a run records it (`RefreshRun.artifact_filter`) and answers show it."""

    type: str
    name: str
    ids: list[str]


@dataclass(frozen=True)
class ArtifactFilter:
    """Which artifacts of the collection to refresh; the parts are ANDed, empty ones ignored."""

    type: str = ""
    name: str = ""
    ids: tuple[uuid.UUID, ...] = ()

    def as_dict(self) -> FilterData:
        out = FilterData()
        if self.type:
            out["type"] = self.type
        if self.name:
            out["name"] = self.name
        if self.ids:
            out["ids"] = [str(i) for i in self.ids]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> "ArtifactFilter":
        """The filter a request's validated data or a run's record gives (ids as UUIDs or text)."""
        data = data or {}
        kind, name, ids = data.get("type"), data.get("name"), data.get("ids")
        return cls(
            type=kind if isinstance(kind, str) else "",
            name=name if isinstance(name, str) else "",
            ids=tuple(uuid.UUID(str(i)) for i in ids) if isinstance(ids, list | tuple) else (),
        )

    def matches_name(self, name: str) -> bool:
        return not self.name or fnmatch.fnmatchcase(name, self.name)


@dataclass(frozen=True)
class RefreshOptions:
    mode: str = Mode.METADATA_ONLY
    dry_run: bool = False
    fields: tuple[str, ...] = FIELDS
    artifact_filter: ArtifactFilter = field(default_factory=ArtifactFilter)
    background: bool = False
    # An approval (SPEC 17): each artifact is read at the commit that was reviewed, and content
    # is taken despite findings when the request accepts them.
    review_commits: tuple[tuple[uuid.UUID, str], ...] = ()
    accept_findings: bool = False

    def reviewed_commit(self, artifact_id: uuid.UUID) -> str:
        """The commit an approval reads this artifact at ('' when it is not being approved)."""
        return dict(self.review_commits).get(artifact_id, "")

    @property
    def writes(self) -> bool:
        """Whether this run may change artifacts (not a dry run, not a check)."""
        return not self.dry_run and self.mode != Mode.CHECK_ONLY

    def fingerprint_data(self) -> dict[str, object]:
        data: dict[str, object] = {
            "mode": str(self.mode),
            "dry_run": self.dry_run,
            "fields": list(self.fields),
            "artifact_filter": self.artifact_filter.as_dict(),
            "background": self.background,
        }
        # Only when set, so the fingerprints of requests that never approve stay as they were.
        if self.review_commits:
            data["review_commits"] = {str(k): v for k, v in self.review_commits}
        if self.accept_findings:
            data["accept_findings"] = True
        return data


def normalize_fields(values: list[str] | None) -> tuple[str, ...]:
    """Trim, lower-case and de-duplicate field names; None or [] means all. Raises ValueError."""
    if not values:
        return FIELDS
    chosen = {v.strip().lower() for v in values}
    if "" in chosen:
        raise ValueError("a field name must not be blank")
    unknown = sorted(chosen - set(FIELDS))
    if unknown:
        raise ValueError(
            f"unknown field(s) {', '.join(unknown)}; valid fields are {', '.join(FIELDS)}"
        )
    return tuple(f for f in FIELDS if f in chosen) or FIELDS
