"""The JSON values the fake reads and writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# Read-only containers, so that a dict[str, str] or a list of objects is JSON as it stands.
type JSON = str | int | float | bool | Sequence[JSON] | Mapping[str, JSON] | None
type JSONObject = dict[str, JSON]
