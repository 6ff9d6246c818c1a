"""Validators shared by the API and the admin: a collection's refresh settings, names.

They are model field validators, so a ModelForm (the admin) and a ModelSerializer (the API) both
run them and report the field by name.
"""

import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError

from refresher.triggers.outbound import OutboundRefused, resolve
from refresher.triggers.schedules import InvalidSchedule, validate


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


def validate_name_characters(value: str) -> None:
    """Names people read (credentials here) hold no control or invisible format characters.

    Control characters break logs and terminals; Unicode format characters (category Cf:
    zero-width spaces and joiners, bidirectional overrides, tag characters) make two different
    names look the same, or one name look like another, in every list that shows them.
    """
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf"):
            kind = "control" if category == "Cc" else "invisible or bidirectional format"
            raise ValidationError(
                f"A name must not contain {kind} characters (found U+{ord(char):04X})."
            )
