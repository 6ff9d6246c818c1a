"""Deriving an artifact's metadata fields from its main file and its repository (SPEC section 4)."""

import re
from typing import Any

from refresher.frontmatter import Document, first_paragraph

# Common SPDX license identifiers, by lower-case key, with their canonical spelling.
_SPDX_IDS = [
    "0BSD", "AFL-3.0", "AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1",
    "Apache-2.0", "Artistic-2.0", "BlueOak-1.0.0", "BSD-2-Clause", "BSD-3-Clause",
    "BSD-3-Clause-Clear", "BSD-4-Clause", "BSL-1.0", "CC-BY-4.0", "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CDDL-1.0", "ECL-2.0",
    "EPL-1.0", "EPL-2.0", "EUPL-1.1", "EUPL-1.2", "GPL-2.0", "GPL-2.0-only",
    "GPL-2.0-or-later", "GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later", "ISC", "LGPL-2.1",
    "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0", "LGPL-3.0-only", "LGPL-3.0-or-later",
    "LPPL-1.3c", "MIT", "MIT-0", "MPL-2.0", "MS-PL", "MS-RL", "MulanPSL-2.0", "NCSA",
    "ODbL-1.0", "OFL-1.1", "OSL-3.0", "PostgreSQL", "Unlicense", "UPL-1.0", "Vim", "WTFPL",
    "Zlib",
]  # fmt: skip
SPDX = {spdx.lower(): spdx for spdx in _SPDX_IDS}
_EXPRESSION_SPLIT = re.compile(r"\s+(AND|OR|WITH)\s+", re.IGNORECASE)


def spdx_identifier(value: Any) -> str:
    """The canonical SPDX identifier or expression in `value`, or "" when it is not one."""
    if not isinstance(value, str):
        return ""
    text = value.strip().strip("()")
    parts = _EXPRESSION_SPLIT.split(text)
    if not text or len(parts) > 9:
        return ""
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part.upper())
            continue
        if i and parts[i - 1].upper() == "WITH":
            out.append(part)  # an exception id (e.g. Classpath-exception-2.0), kept as written
            continue
        canonical = SPDX.get(part.lower())
        if canonical is None:
            return ""
        out.append(canonical)
    return " ".join(out)


def _text(value: Any) -> str:
    # YAML's "\0" escape can put NUL into a string, which text columns cannot hold.
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def derive_fields(document: Document, *, repository: dict[str, Any]) -> dict[str, str | list[str]]:
    """Upstream values of the metadata fields; "" or [] where upstream says nothing."""
    meta = document.meta
    description = _text(meta.get("description")) or first_paragraph(document.body)
    title = _text(meta.get("title")) or _text(meta.get("name"))

    author_value = meta.get("author")
    if isinstance(author_value, dict):
        author_value = author_value.get("name")
    owner = repository.get("owner") or {}
    author = _text(author_value) or _text(owner.get("login"))

    license_ = spdx_identifier(meta.get("license"))
    if not license_:
        repo_license = repository.get("license") or {}
        spdx_id = _text(repo_license.get("spdx_id"))
        license_ = "" if spdx_id.upper() == "NOASSERTION" else spdx_id

    # A repository that has no topics of its own (a git source of another host) leaves them to
    # the frontmatter: a list, or a comma-separated string.
    if "topics" in repository:
        raw_topics: Any = repository.get("topics") or []
    else:
        raw_topics = meta.get("topics") or []
        if isinstance(raw_topics, str):
            raw_topics = raw_topics.split(",")
    if not isinstance(raw_topics, list):
        raw_topics = []
    topics = sorted({_text(t) for t in raw_topics} - {""})
    return {
        "description": description,
        "title": title,
        "author": author,
        "license": license_,
        "topics": topics,
    }
