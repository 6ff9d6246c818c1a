"""The JSON request parser of every API endpoint (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES)."""

from collections.abc import Mapping
from typing import IO

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested deeper than the interpreter's stack (`[` repeated
    100,000 times is 100 KB) refused as the 400 of any malformed body, not a 500."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, object] | None = None,
    ) -> dict[str, object]:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
