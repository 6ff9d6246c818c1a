"""Serializer fields that take only the JSON types the OpenAPI document names.

DRF is lenient where the document is not: a CharField turns 12 into "12", a UUIDField takes an
integer, and django-filter's BooleanFilter ignores a value it cannot read. Each such leniency is a
request the schema calls invalid that the server accepts, so these fields refuse them.
"""

import uuid
from collections.abc import Callable, Sequence
from typing import TypedDict, Unpack

import django_filters
from django import forms
from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from collections_app.validators import INVISIBLE_CLASS_BMP as _BMP
from collections_app.validators import validate_name_characters

# The characters Python's str.strip() removes (str.isspace()), spelled out: `\s` means another set
# in the ECMAScript regexes OpenAPI patterns are (it has U+FEFF, lacks U+001C-U+001F and U+0085).
SPACE_CLASS = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Text that DRF strips and must not find empty has one character that is not such a space.
NOT_BLANK_PATTERN = f"[^{SPACE_CLASS}]"
# A name: not blank, and once stripped no control or invisible formatting character.
NAME_MAX_LENGTH = 200
# (Stated within the BMP: see INVISIBLE_CLASS_BMP.)
NAME_PATTERN = rf"^[{SPACE_CLASS}]*[^{SPACE_CLASS}{_BMP}][^{_BMP}]*[{SPACE_CLASS}]*$"


class TextOptions(TypedDict, total=False):
    """What a text field of ours is built with (CharField's keywords that they use)."""

    required: bool
    read_only: bool
    write_only: bool
    allow_blank: bool
    trim_whitespace: bool
    max_length: int
    help_text: str
    validators: Sequence[Callable[[str], None]]


class StrictCharField(serializers.CharField):
    """Text that must be a JSON string (an HTML form's values are strings too)."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": NAME_MAX_LENGTH,
        "pattern": NAME_PATTERN,
        "description": "Not blank; no control characters, no invisible or bidirectional "
        "formatting characters.",
    }
)
class NameField(StrictCharField):
    """The name of something people pick from a list: a collection (and credentials and share
    links alike); `validate_name_characters` holds the rule, NAME_PATTERN says it in the
    OpenAPI document."""

    def __init__(self, **kwargs: Unpack[TextOptions]) -> None:
        kwargs.setdefault("max_length", NAME_MAX_LENGTH)
        kwargs.setdefault("validators", [validate_name_characters])
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> str:
        # The document's maxLength counts the text as sent; DRF would count it once stripped.
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true/false: "yes" or 1 for a flag is a client bug worth a 400.

    Form posts (the browsable API's HTML form) keep DRF's usual checkbox handling.
    """

    def to_internal_value(self, data: object) -> bool:
        if isinstance(data, bool):
            return data
        form = html.is_html_input(getattr(self.root, "initial_data", None))
        if form and isinstance(data, str | int):  # DRF refuses any other value as invalid too
            return bool(super().to_internal_value(data))
        self.fail("invalid", input=data)
        raise AssertionError  # unreachable: fail() raises


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: not "12", not 12.5, not true (which Python counts as 1)."""

    def to_internal_value(self, data: object) -> int:
        # Form posts (the browsable API's HTML form) send every value as a string.
        form = html.is_html_input(getattr(self.root, "initial_data", None))
        # JSON: an integer that is not a bool. A form: what DRF reads a number from (it refuses
        # anything else as invalid too).
        if isinstance(data, bool) or not isinstance(data, (int, float, str) if form else int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string, not as the integer DRF would also read."""

    def to_internal_value(self, data: object) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class StrictModelSerializer[M: models.Model](serializers.ModelSerializer[M]):
    """A ModelSerializer whose text columns take only strings."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
    }


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`, as a JSON boolean is written in a query; anything else is a 400.

    A value nobody can read must not quietly become an unfiltered list.
    """

    field_class = forms.TypedChoiceField

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)
