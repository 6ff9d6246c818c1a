"""Schemathesis hooks of the OpenAPI contract run (loaded through SCHEMATHESIS_HOOKS).

A `source` is a string in the schema, with its grammar (SPEC 3) in prose: the document cannot
say which strings are GitHub specs, so a schema-valid case may carry one the server rightly
refuses with 400. Such a value is swapped, before the request is sent, for a valid source of
each kind; schemathesis then re-checks whether the case is still a positive or a negative one.
Everything else in the case is sent as generated.
"""

from typing import Any

import schemathesis

from refresher.exceptions import InvalidSource
from refresher.sources import parse_source

VALID_SOURCES = (
    "",
    "anthropics/skills/skills/pdf",
    "https://github.com/anthropics/skills/tree/main/skills/docx",
    "example-org/claude-toolbox/commands/review.md@v1.0.0",
    "./local/skills/notes",
    "https://gitlab.example.com/team/repo",
)
SOURCE_MAX_LENGTH = 500


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    source = body.get("source")
    if not isinstance(source, str) or len(source) > SOURCE_MAX_LENGTH or "\x00" in source:
        return  # not a string the schema allows: a negative case, sent as generated
    try:
        parse_source(source)
    except InvalidSource:
        body["source"] = VALID_SOURCES[len(source) % len(VALID_SOURCES)]
