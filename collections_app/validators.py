"""Validators of a collection's refresh settings, shared by the API and the admin.

They are model field validators, so a ModelForm (the admin) and a ModelSerializer (the API) both
run them and report the field by name.
"""

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
