"""Names Claude Code accepts for a marketplace and its plugins (SPEC 15; docs/decisions.md).

Pure: text in, text out. Claude Code wants kebab-case (`[a-z0-9-]`, at most 64 characters here),
refuses names that pass as Anthropic's own (starting `claude-` or `anthropic-`, `cc-plugin-`,
`claude` spelled with hyphens inside it, "official" beside either word) and, under `validate
--strict`, fails names that merely hold the word `claude` or `anthropic`. Rather than track
exactly which spellings it refuses, both words are taken out wherever their letters run in a row
once the hyphens are ignored: `claude-pdf` becomes `pdf`, `cla-ude-x` becomes `x`.
"""

import re
import unicodedata

MAX_NAME_LENGTH = 64
# Letters Claude Code reads as Anthropic's, wherever they stand once hyphens are dropped.
RESERVED_WORDS = ("claude", "anthropic")
# A plugin name may not start with these letters (hyphens ignored), e.g. `cc-plugin-x`.
RESERVED_PREFIXES = ("ccplugin",)
# Marketplace names Claude Code keeps for its own kinds of plugins.
RESERVED_MARKETPLACE_NAMES = frozenset({"skills-dir", "inline", "builtin"})

_NOT_KEBAB = re.compile(r"[^a-z0-9]+")
_HYPHENS = re.compile(r"-{2,}")


def kebab(text: str) -> str:
    """Lower-case ASCII words joined by single hyphens (accents dropped, the rest a break)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_KEBAB.sub("-", ascii_text.lower()).strip("-")


def _drop_letters(name: str, start: int, length: int) -> str:
    """`name` without the `length` letters that begin at letter `start` (hyphens not counted)."""
    kept: list[str] = []
    letter = 0
    for char in name:
        if char == "-":
            kept.append(char)
            continue
        if not start <= letter < start + length:
            kept.append(char)
        letter += 1
    return _HYPHENS.sub("-", "".join(kept)).strip("-")


def without_reserved(name: str) -> str:
    """A kebab-case name with every reserved word and prefix taken out (maybe empty)."""
    while True:
        squashed = name.replace("-", "")
        spans = [(squashed.find(word), len(word)) for word in RESERVED_WORDS]
        spans = [(at, size) for at, size in spans if at >= 0]
        spans += [(0, len(p)) for p in RESERVED_PREFIXES if squashed.startswith(p)]
        if not spans:
            return name
        at, size = min(spans)
        name = _drop_letters(name, at, size)


def fit(name: str, limit: int = MAX_NAME_LENGTH) -> str:
    """At most `limit` characters, never ending with a hyphen."""
    return name[:limit].rstrip("-")


def safe_name(text: str, *, fallback: str) -> str:
    """`text` as a name Claude Code accepts without a warning; `fallback` when nothing is left."""
    name = fit(without_reserved(kebab(text)))
    return name or fit(without_reserved(kebab(fallback)))


def marketplace_name(collection_name: str, owner: str) -> str:
    """The collection's name in kebab-case, never one Claude Code keeps for itself."""
    name = safe_name(collection_name, fallback=f"{owner}-collection")
    if not name:
        name = "collection"
    if name in RESERVED_MARKETPLACE_NAMES:
        name = fit(f"{name}-collection")
    return name
