"""Reading the metadata out of an artifact's main file (SPEC section 4).

Markdown files carry YAML frontmatter between `---` lines; MCP configs are JSON or YAML documents
whose top-level mapping plays the same part. Broken YAML is an `invalid_metadata` error for that
artifact, never a crash and never a reason to wipe a value.

YAML goes through PyYAML's safe loader: libyaml's C implementation when PyYAML has it (its wheels
do), about ten times faster (docs/performance.md), else the pure-Python one. Both build only plain
data (no Python object tags); files are capped at 1 MiB before either sees them.

Upstream files are anybody's text, so this module is a boundary: whatever a parser raises on
them (an impossible date, an integer of thousands of digits, nesting past the interpreter's
stack) becomes a `MetadataError`, and what a parser builds is made plain JSON-like data before
anyone reads it (`plain`), so no later code meets a date, a set, bytes or a structure that
refers to itself.
"""

import datetime
import json
import math
import re
from dataclasses import dataclass, field
from typing import Protocol

import yaml

from refresher.exceptions import MetadataError
from refresher.json_types import JSON, JSONObject

MAX_FILE_BYTES = 1024 * 1024
DESCRIPTION_FALLBACK_CHARS = 500
# Bounds of the plain data a document's metadata becomes. YAML aliases let a 1 MiB file name
# the same list millions of times, or a list that holds itself: walking it is bounded by these.
MAX_DEPTH = 64
MAX_NODES = 200_000
# Integers beyond this many bits (YAML reads `0x...` of any length) are not metadata.
MAX_INT_BITS = 256
_SURROGATES = re.compile("[\ud800-\udfff]")


class _YAMLModule(Protocol):
    SafeLoader: type[yaml.SafeLoader]


type LoaderClass = type[yaml.SafeLoader | yaml.CSafeLoader]


def safe_loader(module: _YAMLModule = yaml) -> LoaderClass:
    """`module`'s C safe loader when it was built with libyaml, else its pure-Python one."""
    loader: LoaderClass = getattr(module, "CSafeLoader", None) or module.SafeLoader
    return loader


YAML_LOADER = safe_loader()

# An empty block (`---` right after `---`) is frontmatter too.
_FENCE = re.compile(r"^---[ \t]*\r?\n(?:(.*?)\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|$)", re.DOTALL)


@dataclass(frozen=True)
class Document:
    meta: JSONObject = field(default_factory=dict)
    body: str = ""


def decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise MetadataError(
            "file_too_large", f"the file is {len(data)} bytes; at most {MAX_FILE_BYTES} are read"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MetadataError("invalid_metadata", "the file is not UTF-8 text") from None
    if "\x00" in text:
        # Text columns (PostgreSQL's in particular) cannot hold NUL; nor is it a text file.
        raise MetadataError("invalid_metadata", "the file contains NUL characters")
    return text


def parse_markdown(text: str) -> Document:
    """Split YAML frontmatter from the body; a file without frontmatter is all body."""
    text = text.lstrip("\ufeff")
    match = _FENCE.match(text)
    if not match:
        return Document(body=text)
    meta = _load_yaml(match.group(1) or "")
    return Document(meta=meta, body=text[match.end() :])


def parse_config(text: str, *, filename: str) -> Document:
    """An MCP config file (JSON or YAML) whose top-level mapping is its metadata."""
    if filename.lower().endswith(".json"):
        data = load_json(text)
        if not isinstance(data, dict):
            raise MetadataError("invalid_metadata", "the JSON document is not an object")
        return Document(meta=data)
    return Document(meta=_load_yaml(text))


def load_json(text: str) -> JSON:
    """A JSON document from upstream as plain data; any failure is a `MetadataError`."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise MetadataError("invalid_metadata", "the JSON document is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(
            "invalid_metadata", f"invalid JSON: {exc.msg} (line {exc.lineno})"
        ) from None
    except Exception as exc:
        # ValueError for an integer longer than the interpreter converts, and whatever else
        # the decoder may raise on hostile text: never the run's problem, only this file's.
        raise MetadataError("invalid_metadata", f"invalid JSON: {_problem(exc)}") from None
    return plain(data)


def _load_yaml(text: str) -> JSONObject:
    try:
        data = yaml.load(text, Loader=YAML_LOADER)
    except RecursionError:
        raise MetadataError(
            "invalid_metadata", "the YAML frontmatter is nested too deeply"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise MetadataError(
            "invalid_metadata", f"invalid YAML frontmatter{where}: {problem}"
        ) from None
    except Exception as exc:
        # The constructors raise ValueError (an impossible date such as 2024-13-01, an
        # integer of thousands of digits), OverflowError and others on values the scanner took.
        raise MetadataError(
            "invalid_metadata", f"invalid YAML frontmatter: {_problem(exc)}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MetadataError("invalid_metadata", "the YAML frontmatter is not a mapping")
    result = plain(data)
    # A mapping stays a mapping: `plain` only makes its keys strings.
    return result if isinstance(result, dict) else {}


def _problem(exc: Exception) -> str:
    # The message of a parser's exception, cut: it may quote the hostile value at length.
    # Python's own advice ("; use sys.set_int_max_str_digits() ...") is no help to an author.
    text = str(exc).splitlines()[0].split("; ")[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def plain(value: object) -> JSON:
    """`value` (what a YAML or JSON parser built) as plain JSON data, or a `MetadataError`.

    Keys become strings; dates and times their ISO 8601 text; a set a sorted list; a float that
    is not finite None (JSON has no spelling for it); strings lose unpaired surrogates (which no
    database column stores). Bytes (`!!binary`), integers past `MAX_INT_BITS`, nesting past
    `MAX_DEPTH` (a structure holding itself included) and more than `MAX_NODES` values (aliases
    repeating a large node) are refused.
    """
    budget = [MAX_NODES]
    return _plain(value, 0, budget)


def _plain(value: object, depth: int, budget: list[int]) -> JSON:
    budget[0] -= 1
    if budget[0] < 0:
        raise MetadataError("invalid_metadata", f"the metadata holds more than {MAX_NODES} values")
    if depth > MAX_DEPTH:
        raise MetadataError("invalid_metadata", f"the metadata nests deeper than {MAX_DEPTH}")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise MetadataError("invalid_metadata", "the metadata holds a number too large")
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {_key(k): _plain(v, depth + 1, budget) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1, budget) for v in value]
    if isinstance(value, set | frozenset):
        items = [_plain(v, depth + 1, budget) for v in value]
        return sorted(items, key=lambda item: (type(item).__name__, str(item)))
    kind = type(value).__name__
    raise MetadataError("invalid_metadata", f"the metadata holds a value of kind {kind}")


def _key(key: object) -> str:
    if isinstance(key, str):
        return _SURROGATES.sub("\ufffd", key)
    if key is None or isinstance(key, bool):
        return json.dumps(key)
    if isinstance(key, int) and key.bit_length() > MAX_INT_BITS:
        raise MetadataError("invalid_metadata", "the metadata holds a number too large")
    if isinstance(key, int | float | datetime.date | datetime.time):
        return key.isoformat() if isinstance(key, datetime.date | datetime.time) else str(key)
    raise MetadataError("invalid_metadata", f"the metadata has a key of kind {type(key).__name__}")


def first_paragraph(body: str) -> str:
    """The first prose paragraph of a Markdown body: no headings, at most 500 characters."""
    lines: list[str] = []
    in_code = False
    for raw in body.splitlines():
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            in_code = not in_code
            if lines:
                break
            continue
        if in_code:
            continue
        if not line or line.startswith("#") or (line.startswith("<!--") and line.endswith("-->")):
            if lines:
                break
            continue
        lines.append(line)
    text = " ".join(lines)
    if len(text) > DESCRIPTION_FALLBACK_CHARS:
        text = text[: DESCRIPTION_FALLBACK_CHARS - 1].rstrip() + "…"
    return text
