"""Reading the metadata out of an artifact's main file (SPEC section 4).

Markdown files carry YAML frontmatter between `---` lines; MCP configs are JSON or YAML documents
whose top-level mapping plays the same part. Broken YAML is an `invalid_metadata` error for that
artifact, never a crash and never a reason to wipe a value.

YAML goes through PyYAML's safe loader: libyaml's C implementation when PyYAML has it (its wheels
do), about ten times faster (docs/performance.md), else the pure-Python one. Both build only plain
data (no Python object tags); files are capped at 1 MiB before either sees them.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from refresher.exceptions import MetadataError

MAX_FILE_BYTES = 1024 * 1024
DESCRIPTION_FALLBACK_CHARS = 500


def safe_loader(module: Any = yaml) -> Any:
    """`module`'s C safe loader when it was built with libyaml, else its pure-Python one."""
    return getattr(module, "CSafeLoader", None) or module.SafeLoader


YAML_LOADER = safe_loader()

# An empty block (`---` right after `---`) is frontmatter too.
_FENCE = re.compile(r"^---[ \t]*\r?\n(?:(.*?)\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|$)", re.DOTALL)


@dataclass(frozen=True)
class Document:
    meta: dict[str, Any] = field(default_factory=dict)
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
        try:
            data = json.loads(text)
        except RecursionError:
            raise MetadataError(
                "invalid_metadata", "the JSON document is nested too deeply"
            ) from None
        except json.JSONDecodeError as exc:
            raise MetadataError(
                "invalid_metadata", f"invalid JSON: {exc.msg} (line {exc.lineno})"
            ) from None
        if not isinstance(data, dict):
            raise MetadataError("invalid_metadata", "the JSON document is not an object")
        return Document(meta=data)
    return Document(meta=_load_yaml(text))


def _load_yaml(text: str) -> dict[str, Any]:
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
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MetadataError("invalid_metadata", "the YAML frontmatter is not a mapping")
    return data


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
