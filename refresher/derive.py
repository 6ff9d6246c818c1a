"""Deriving an artifact's metadata fields from its main file and its repository (SPEC section 4)."""

import functools
import re
from collections.abc import Mapping

import license_expression
from license_expression import LicenseSymbol, Licensing

from refresher.frontmatter import Document, first_paragraph
from refresher.json_types import JSON, JSONObject

# Longest licence expression kept: Artifact.license's max_length. A longer one could only be
# stored cut, which would no longer be an expression; it falls back like any other non-SPDX value.
MAX_LICENSE_CHARS = 100
_SPDX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")


@functools.cache
def _licensing() -> Licensing:
    """SPDX license and exception ids (from the SPDX list license-expression ships), as keys.

    The library's own SPDX licensing treats deprecated ids as aliases of their successors
    (`GPL-2.0` would become `GPL-2.0-only`) and accepts `LicenseRef-` names of other licences
    as aliases of common ones; here every SPDX id stands for itself, so an expression is kept as
    its author wrote it, in the ids' canonical case.
    """
    index = license_expression.get_license_index()
    symbols: dict[str, LicenseSymbol] = {}
    for primary in (True, False):  # current ids first, then the deprecated ones
        for entry in index:
            ids = (
                [entry.get("spdx_license_key")] if primary else entry.get("other_spdx_license_keys")
            )
            for spdx_id in ids or ():
                if not spdx_id or not _SPDX_ID.match(spdx_id) or spdx_id.lower() in symbols:
                    continue
                if spdx_id.lower().startswith("licenseref-"):
                    continue
                exception = bool(entry.get("is_exception"))
                symbols[spdx_id.lower()] = LicenseSymbol(spdx_id, is_exception=exception)
    return Licensing(list(symbols.values()))


# Built with the module (25 ms), so the first refresh of a web process or worker does not wait.
_licensing()


def spdx_identifier(value: object) -> str:
    """The SPDX identifier or expression in `value`, in canonical form, or "" when it is not one.

    `mit` -> `MIT`; `(MIT OR apache-2.0) and BSD-3-Clause` -> `(MIT OR Apache-2.0) AND
    BSD-3-Clause`; prose, unknown ids and malformed expressions -> "".
    """
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if not text or len(text) > MAX_LICENSE_CHARS:
        return ""
    try:
        parsed = _licensing().parse(text, validate=True, strict=True)
    except Exception:
        # ExpressionError for what is not an expression of known ids; on some malformed input
        # the parser also fails with IndexError or AssertionError. Frontmatter is anybody's
        # text: whatever it is, it is not a licence expression, never a reason to crash.
        return ""
    if parsed is None:
        return ""
    rendered = str(parsed.render())
    return rendered if len(rendered) <= MAX_LICENSE_CHARS else ""


def _text(value: object) -> str:
    # YAML's "\0" escape can put NUL into a string, which text columns cannot hold.
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _mapping(value: JSON) -> JSONObject:
    return value if isinstance(value, dict) else {}


def derive_fields(
    document: Document, *, repository: Mapping[str, JSON]
) -> dict[str, str | list[str]]:
    """Upstream values of the metadata fields; "" or [] where upstream says nothing."""
    meta = document.meta
    description = _text(meta.get("description")) or first_paragraph(document.body)
    title = _text(meta.get("title")) or _text(meta.get("name"))

    author_value = meta.get("author")
    if isinstance(author_value, dict):
        author_value = author_value.get("name")
    owner = _mapping(repository.get("owner"))
    author = _text(author_value) or _text(owner.get("login"))

    license_ = spdx_identifier(meta.get("license"))
    if not license_:
        spdx_id = _text(_mapping(repository.get("license")).get("spdx_id"))
        license_ = "" if spdx_id.upper() == "NOASSERTION" else spdx_id

    # A repository that has no topics of its own (a git source of another host) leaves them to
    # the frontmatter: a list, or a comma-separated string.
    raw_topics = repository.get("topics") if "topics" in repository else meta.get("topics")
    if isinstance(raw_topics, str) and "topics" not in repository:
        named: list[str] | list[JSON] = raw_topics.split(",")
    else:
        named = raw_topics if isinstance(raw_topics, list) else []
    topics = sorted({_text(t) for t in named} - {""})
    return {
        "description": description,
        "title": title,
        "author": author,
        "license": license_,
        "topics": topics,
    }
