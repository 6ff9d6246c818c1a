"""Schemathesis hooks of the OpenAPI contract run (loaded through SCHEMATHESIS_HOOKS).

Some request values have a grammar the document states in prose only, so a schema-valid case may
carry one the server rightly refuses with 400. Before such a request is sent, the value is swapped
for a valid one; schemathesis then re-checks whether the case is still a positive or a negative
one. Everything else in the case is sent as generated. The values:

- an artifact's `source`: a source spec (SPEC 3) of any kind but git (no git host is allowed);
- discovery's `source`: a GitHub repository the test's GitHub fake holds (git sources need hosts
  in GIT_ALLOWED_HOSTS, which the test site leaves empty, so that nothing leaves the machine);
- a collection's `refresh_schedule`: a cron expression (SPEC 13) firing no more often than
  REFRESH_SCHEDULE_MIN_MINUTES;
- a collection's `notify_url`: a URL whose host resolves to an address notifications may reach.
  It is swapped for a loopback address the test site allows (NOTIFY_ALLOW_PRIVATE), so that no
  generated host name is looked up in the DNS.

An imported manifest is left as generated: see schemathesis.toml for how its one check is set.
"""

from typing import Any

import schemathesis

from refresher.exceptions import InvalidSource
from refresher.schedules import InvalidSchedule, validate
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
MAX_LENGTH = 1000  # the longest `source` any operation documents
VALID_SCHEDULES = ("", "@daily", "0 */6 * * *")
NOTIFY_URL = "http://127.0.0.1:9/notify"
NOTIFY_URL_MAX_LENGTH = 2000
SCHEDULE_MIN_MINUTES = 15  # the site's default, which the test leaves as it is


def _parsed_kind(text: str) -> SourceKind | None:
    try:
        return parse_source(text).kind
    except InvalidSource:
        return None


def _schema_valid_text(value: Any, max_length: int = MAX_LENGTH) -> bool:
    return isinstance(value, str) and len(value) <= max_length and "\x00" not in value


def _swap_keep_fresh_settings(body: dict[str, Any]) -> None:
    schedule = body.get("refresh_schedule")
    if _schema_valid_text(schedule):
        try:
            validate(schedule, min_minutes=SCHEDULE_MIN_MINUTES)
        except InvalidSchedule:
            body["refresh_schedule"] = VALID_SCHEDULES[len(schedule) % len(VALID_SCHEDULES)]
    url = body.get("notify_url")
    if _schema_valid_text(url, NOTIFY_URL_MAX_LENGTH) and url.strip():
        body["notify_url"] = NOTIFY_URL


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    path = case.operation.path
    body = case.body
    if isinstance(body, dict) and path.startswith("/api/v1/collections/"):
        _swap_keep_fresh_settings(body)
    if not isinstance(body, dict) or not _schema_valid_text(body.get("source")):
        return  # no source, or one the schema refuses: a negative case, sent as generated
    source = body["source"]
    if path.endswith("/discover/"):
        if _parsed_kind(source) is not SourceKind.GITHUB:
            body["source"] = DISCOVERABLE[len(source) % len(DISCOVERABLE)]
    elif _parsed_kind(source) is None or source.strip().startswith("git+"):
        # git sources are refused while GIT_ALLOWED_HOSTS is empty, as it is for the test site.
        body["source"] = VALID_SOURCES[len(source) % len(VALID_SOURCES)]
