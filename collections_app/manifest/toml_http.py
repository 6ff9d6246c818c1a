"""TOML over HTTP: the parser for manifest uploads and the renderer for manifest downloads."""

from collections.abc import Mapping
from typing import IO

from django.conf import settings
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from refresher.exceptions import PayloadTooLarge

TOML_MEDIA_TYPE = "application/toml"
# The key under which TomlParser hands the view the body's bytes.
TOML_BODY = "toml"


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The manifest is larger than {limit} bytes.", details={"max_bytes": limit}
    )


class TomlParser(BaseParser):
    """Hands the view the raw bytes of an `application/toml` body (`{TOML_BODY: bytes}`),
    refusing oversized ones.

    The body is read with a cap (one byte over the limit tells it is too large), so a huge
    upload is never held in memory whole; a `Content-Length` over the limit is refused before
    anything is read.
    """

    media_type = TOML_MEDIA_TYPE

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, object] | None = None,
    ) -> dict[str, bytes]:
        limit = settings.COLLECTION_IMPORT_MAX_BYTES
        request = (parser_context or {}).get("request")
        try:
            length = (
                int(request.META.get("CONTENT_LENGTH") or 0) if isinstance(request, Request) else 0
            )
        except ValueError:
            length = 0
        if length > limit:
            raise too_large(limit)
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise too_large(limit)
        return {TOML_BODY: bytes(data)}


class TomlRenderer(BaseRenderer):
    """Writes a manifest's TOML text as it is."""

    media_type = TOML_MEDIA_TYPE
    format = "toml"
    charset = "utf-8"

    def render(
        self,
        data: object,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, object] | None = None,
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        return str(data).encode(self.charset)
