"""Schemathesis hooks of the OpenAPI contract run (loaded through SCHEMATHESIS_HOOKS).

Some request values have a grammar the document states in prose only, so a schema-valid case may
carry one the server rightly refuses with 400. Before such a request is sent, the value is swapped
for a valid one; schemathesis then re-checks whether the case is still a positive or a negative
one. Everything else in the case is sent as generated. The values:

- an artifact's `source`: a source spec (SPEC 3) of any kind but git (no git host is allowed);
- discovery's `source`: a GitHub repository the test's GitHub fake holds (git sources need hosts
  in GIT_ALLOWED_HOSTS, which the test site leaves empty, so that nothing leaves the machine);
- an imported manifest (TOML text or the `file` upload): a `collection.toml` (SPEC 11).
"""

import tomllib
from typing import Any

import schemathesis

from refresher.exceptions import InvalidSource
from refresher.sources import SourceKind, parse_source

VALID_SOURCES = (
    "",
    "anthropics/skills/skills/pdf",
    "https://github.com/anthropics/skills/tree/main/skills/docx",
    "example-org/claude-toolbox/commands/review.md@v1.0.0",
    "./local/skills/notes",
    "https://gitlab.example.com/team/repo",
)
DISCOVERABLE = ("anthropics/skills", "example-org/claude-toolbox")
MANIFEST = '[collection]\nname = "Imported by the contract run"\n'
MAX_LENGTH = 1000  # the longest `source` any operation documents


def _parsed_kind(text: str) -> SourceKind | None:
    try:
        return parse_source(text).kind
    except InvalidSource:
        return None


def _schema_valid_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_LENGTH and "\x00" not in value


def _is_manifest(value: Any) -> bool:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return False
    if not isinstance(value, str):
        return False
    try:
        data = tomllib.loads(value)
    except tomllib.TOMLDecodeError:
        return False
    table = data.get("collection")
    return isinstance(table, dict) and isinstance(table.get("name"), str)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    path = case.operation.path
    body = case.body
    if path.endswith("/import/"):
        meta = getattr(case, "_meta", None)
        if meta is not None and meta.generation.mode.value != "positive":
            return  # a negative case is sent as generated

        if isinstance(body, dict) and "file" in body and not _is_manifest(body["file"]):
            body["file"] = MANIFEST.encode()
        elif isinstance(body, str | bytes) and not _is_manifest(body):
            case.body = MANIFEST
        return
    if not isinstance(body, dict) or not _schema_valid_text(body.get("source")):
        return  # no source, or one the schema refuses: a negative case, sent as generated
    source = body["source"]
    if path.endswith("/discover/"):
        if _parsed_kind(source) is not SourceKind.GITHUB:
            body["source"] = DISCOVERABLE[len(source) % len(DISCOVERABLE)]
    elif _parsed_kind(source) is None or source.strip().startswith("git+"):
        # git sources are refused while GIT_ALLOWED_HOSTS is empty, as it is for the test site.
        body["source"] = VALID_SOURCES[len(source) % len(VALID_SOURCES)]
