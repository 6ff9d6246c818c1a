"""Validators shared by the API and the admin: a collection's refresh settings, names.

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


# Unicode's control (Cc) and format (Cf) characters, as ranges of code points. Format characters
# are invisible (zero-width spaces and joiners, U+FEFF) or reorder text (bidirectional controls),
# or tag text invisibly (U+E0001, U+E0020-E007F), so two names that look the same could differ.
# Spelled out rather than asked of `unicodedata` on every check: the same ranges make the
# OpenAPI pattern of names, so the document and the server refuse exactly the same characters.
NAME_FORBIDDEN_RANGES = (
    (0x00, 0x1F),
    (0x7F, 0x9F),
    (0xAD, 0xAD),
    (0x600, 0x605),
    (0x61C, 0x61C),
    (0x6DD, 0x6DD),
    (0x70F, 0x70F),
    (0x890, 0x891),
    (0x8E2, 0x8E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
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
# The same as a regular expression character class (the characters themselves, no escapes, so
# that code points above U+FFFF read the same wherever the pattern is read).
NAME_FORBIDDEN_CLASS = "".join(
    re.escape(chr(low)) + (f"-{re.escape(chr(high))}" if high > low else "")
    for low, high in NAME_FORBIDDEN_RANGES
)
_NAME_FORBIDDEN = re.compile(f"[{NAME_FORBIDDEN_CLASS}]")


def validate_name_characters(value: str) -> None:
    """Names people read (credentials here) hold no control or invisible format characters.

    Control characters break logs and terminals; format characters make two different names
    look the same, or one name look like another, in every list that shows them.
    """
    found = _NAME_FORBIDDEN.search(value)
    if found is not None:
        char = found.group()
        kind = "control" if ord(char) < 0xA0 else "invisible or bidirectional format"
        raise ValidationError(
            f"A name must not contain {kind} characters (found U+{ord(char):04X})."
        )
