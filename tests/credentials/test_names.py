"""Names refuse exactly Unicode's control and format characters, in the server and the document."""

import re
import sys
import unicodedata

import pytest
from django.core.exceptions import ValidationError

from collections_app.credential_serializers import NAME_PATTERN
from collections_app.validators import validate_name_characters


def test_the_refused_characters_are_exactly_unicodes_control_and_format_characters():
    refused, wrongly = [], []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        try:
            validate_name_characters(f"a{char}b")
        except ValidationError:
            refused.append(code)
            if unicodedata.category(char) not in ("Cc", "Cf"):
                wrongly.append(code)
        else:
            assert unicodedata.category(char) not in ("Cc", "Cf"), f"U+{code:04X} let through"
    assert wrongly == []
    assert 0x202E in refused and 0xE0041 in refused and 0x200B in refused


@pytest.mark.parametrize(
    "name, valid",
    [
        ("team token", True),
        ("équipe · 东京", True),
        ("a\u00a0b", True),  # a no-break space inside a name is visible enough
        ("x", True),
        (" lead", False),
        ("trail\u3000", False),
        ("zero\u200bwidth", False),
        ("rtl\u202eexe", False),
        ("tag\U000e0061", False),
        ("bell\x07", False),
        ("", False),
    ],
)
def test_the_documents_pattern_agrees_with_the_server(name, valid):
    assert bool(re.fullmatch(NAME_PATTERN, name)) is valid
