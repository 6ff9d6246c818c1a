"""The keys of a manifest this site does not know, kept so that an export gives them back.

They are stored in JSON columns: `encode_extra` makes a TOML value fit one (dates, times and
non-finite floats tagged) and `decode_extra` restores it.
"""

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time

from collections_app.manifest.shapes import JSONTable, TomlTable, TomlValue
from refresher.json_types import JSON

# The tag under which values JSON cannot hold (TOML dates and times, NaN, infinities) are kept.
_TAG = "$toml"


def unknown_keys(table: Mapping[str, TomlValue], known: frozenset[str]) -> JSONTable:
    """The keys of `table` that are not `known`, encoded for a JSON column."""
    return {key: encode_extra(value) for key, value in table.items() if key not in known}


def encode_extra(value: TomlValue) -> JSON:
    """A TOML value as JSON: dates, times and non-finite floats are tagged so they come back."""
    if isinstance(value, datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "value": value.isoformat()}
    if isinstance(value, time):
        return {_TAG: "time", "value": value.isoformat()}
    if isinstance(value, float) and not math.isfinite(value):
        return {_TAG: "float", "value": repr(value)}
    if isinstance(value, list):
        return [encode_extra(item) for item in value]
    if isinstance(value, dict):
        encoded: JSONTable = {key: encode_extra(item) for key, item in value.items()}
        # A table of the user's that happens to look like a tag is wrapped, so it is not read
        # back as one.
        if _TAG in value:
            return {_TAG: "table", "value": encoded}
        return encoded
    return value


_DECODERS: dict[str, Callable[[str], TomlValue]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "float": float,
}


def decode_extra(value: JSON) -> TomlValue:
    """The inverse of `encode_extra`."""
    if isinstance(value, list):
        return [decode_extra(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {_TAG, "value"}:
            tag, inner = value[_TAG], value["value"]
            if tag == "table" and isinstance(inner, dict):
                return decode_table(inner)
            decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
            if decoder is not None and isinstance(inner, str):
                return decoder(inner)
        return decode_table(value)
    if value is None:
        # encode_extra never writes one: TOML has no null, and tomli_w could not write it.
        raise TypeError("A manifest's unknown keys hold no null.")
    return value


def decode_table(table: Mapping[str, JSON]) -> TomlTable:
    """A table of unknown keys as `unknown_keys` stored it, decoded key by key."""
    return {key: decode_extra(item) for key, item in table.items()}
