"""Validators shared by the API, the admin, import and discovery.

They are model field validators, so a ModelForm (the admin) and a ModelSerializer (the API) both
run them and report the field by name.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError

from refresher.exceptions import InvalidSchedule, OutboundRefused
from refresher.schedules import validate
from refresher.triggers.outbound import resolve


def validate_refresh_schedule(value: str) -> None:
    try:
        validate(value, min_minutes=settings.REFRESH_SCHEDULE_MIN_MINUTES)
    except InvalidSchedule as exc:
        raise ValidationError(f"Invalid schedule: {exc}.") from None


def validate_notify_url(value: str) -> None:
    if not value.strip():
        return
    try:
        resolve(value, allow_private=settings.NOTIFY_ALLOW_PRIVATE)
    except OutboundRefused as exc:
        raise ValidationError(f"Notifications cannot be sent there: {exc}.") from None


# Characters no name may hold (SPEC 18), by Unicode category as of Unicode 15.1: control (Cc:
# CR, LF, ESC, TAB...), format (Cf: zero-width spaces and joiners, bidirectional overrides such
# as U+202E, tag characters, the soft hyphen) and the line and paragraph separators (Zl, Zp).
# They make two names that look alike differ, reorder or hide text in a terminal or a page, and
# break a line of the command line's output. tests/api/test_names.py checks these ranges
# against the running Python's Unicode data.
INVISIBLE_RANGES = (
    (0x0000, 0x001F),
    (0x007F, 0x009F),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)


def _class_item(code: int) -> str:
    # `\uXXXX` reads the same in Python's and ECMAScript's regexes (the OpenAPI document's
    # patterns); a code point beyond the BMP is written as itself.
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _class(ranges: tuple[tuple[int, int], ...]) -> str:
    items = (_class_item(lo) + (f"-{_class_item(hi)}" if hi > lo else "") for lo, hi in ranges)
    return "".join(items)


# The ranges as the inside of a regex character class.
INVISIBLE_CLASS = _class(INVISIBLE_RANGES)
# The same within the BMP, for the OpenAPI document's patterns: a code point beyond it has no
# spelling that ECMAScript's regexes without the `u` flag and the usual tools' engines share.
# The few beyond it (tag characters, some format controls of historic scripts) are refused by
# the server all the same.
INVISIBLE_CLASS_BMP = _class(tuple((lo, hi) for lo, hi in INVISIBLE_RANGES if hi <= 0xFFFF))
_INVISIBLE = re.compile(f"[{INVISIBLE_CLASS}]")


def validate_name_characters(value: str) -> None:
    """A name (of a collection, an artifact, a credential, a share link) is text people read:
    no control characters, no invisible or bidirectional formatting characters."""
    found = _INVISIBLE.search(value)
    if found is not None:
        raise ValidationError(
            "A name must not contain control characters or invisible formatting characters "
            f"(U+{ord(found.group()):04X})."
        )
