"""Characters a reader cannot see: zero-width, bidirectional controls, tag characters and
other invisible format characters, found line by line.

Text that an editor shows one way and a model or a shell reads another is the oldest trick for
slipping instructions past a reviewer (Trojan Source, ASCII smuggling with Unicode tags). Only
non-ASCII characters can be invisible, so pure-ASCII text costs one `str.isascii()` call.
"""

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass

# Bidirectional controls: embeddings, overrides, isolates and the implicit marks.
BIDI = frozenset([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
ZERO_WIDTH = frozenset([0x180E, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF])
ZWNJ, ZWJ, BOM = 0x200C, 0x200D, 0xFEFF
TAGS = range(0xE0000, 0xE0080)  # Unicode tags: they spell ASCII invisibly
# Hangul fillers render as nothing although they are letters (category Lo).
FILLERS = frozenset([0x115F, 0x1160, 0x3164, 0xFFA0])
VARIATION = range(0xFE00, 0xFE10)
VARIATION_SUPPLEMENT = range(0xE0100, 0xE01F0)
EMOJI_PRESENTATION = frozenset([0xFE0E, 0xFE0F])
# Format characters that are drawn (number signs written before digits): not hidden.
VISIBLE_FORMAT = frozenset(
    [*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD]
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# `\u200b` or `\U000e0041` in JSON or YAML: an escape that turns into a hidden character once
# the file is parsed.
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")


@dataclass(frozen=True, slots=True)
class Hidden:
    """The hidden characters of one line, in order of appearance."""

    line: int  # 1-based
    code_points: tuple[int, ...]
    escaped: bool = False  # written as `\u....` escapes, hidden once parsed

    def describe(self) -> str:
        names = []
        for cp in dict.fromkeys(self.code_points):
            names.append(f"U+{cp:04X} {unicodedata.name(chr(cp), 'UNASSIGNED')}")
        text = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        smuggled = tag_text(self.code_points)
        if smuggled:
            text += f"; tag characters spell {smuggled!r}"
        return text


def tag_text(code_points: tuple[int, ...], limit: int = 120) -> str:
    """The ASCII text that tag characters spell (U+E0020..U+E007E), cut at `limit`."""
    spelled = "".join(chr(cp - 0xE0000) for cp in code_points if 0xE0020 <= cp <= 0xE007E)
    return spelled if len(spelled) <= limit else spelled[: limit - 1] + "…"


def _is_symbol(char: str) -> bool:
    return not char.isascii() and unicodedata.category(char) in ("So", "Sk", "Mn", "Me")


def _is_joined_letter(char: str) -> bool:
    # Scripts that need ZWNJ to spell words (Persian, the Indic scripts) are not Latin.
    return ord(char) > 0x036F and unicodedata.category(char).startswith(("L", "M"))


def is_hidden(text: str, index: int) -> bool:
    """Whether the character at `index` is one a reader cannot see, in its context.

    Kept visible where scripts need them: a ZWJ joining two emoji or symbols, a ZWNJ between two
    letters of a non-Latin script, a variation selector choosing emoji or text presentation after
    a non-ASCII character, and a byte order mark at the very start.
    """
    cp = ord(text[index])
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if cp in BIDI or cp in TAGS or cp in FILLERS or cp in VARIATION_SUPPLEMENT:
        return True
    if cp == BOM:
        return index > 0
    if cp == ZWJ:
        return not (before and after and _is_symbol(before) and _is_symbol(after))
    if cp == ZWNJ:
        return not (before and after and _is_joined_letter(before) and _is_joined_letter(after))
    if cp in ZERO_WIDTH:
        return True
    if cp in VARIATION:
        return not (cp in EMOJI_PRESENTATION and before and not before.isascii())
    category = unicodedata.category(text[index])
    return category == "Cf" and cp not in VISIBLE_FORMAT


def hidden_characters(text: str) -> list[Hidden]:
    """Every line of `text` holding hidden characters, with the characters."""
    if text.isascii():
        return []
    by_line: dict[int, list[int]] = {}
    line_starts = _LineIndex(text)
    for match in _NON_ASCII.finditer(text):
        index = match.start()
        if is_hidden(text, index):
            by_line.setdefault(line_starts.line_of(index), []).append(ord(text[index]))
    return [Hidden(line, tuple(cps)) for line, cps in sorted(by_line.items())]


def escaped_hidden_characters(text: str, *, lines: range | None = None) -> list[Hidden]:
    """Lines where a `\\u` escape spells a hidden character (JSON, YAML double quotes).

    `lines` limits the search to a block of lines (a Markdown file's frontmatter), 1-based.
    """
    by_line: dict[int, list[int]] = {}
    index = _LineIndex(text)
    pending_high = 0  # a UTF-16 high surrogate waiting for its low half
    for match in _ESCAPE.finditer(text):
        line = index.line_of(match.start())
        if lines is not None and line not in lines:
            continue
        cp = int(match.group(1) or match.group(2), 16)
        if 0xD800 <= cp <= 0xDBFF:
            pending_high = cp
            continue
        if 0xDC00 <= cp <= 0xDFFF and pending_high:
            cp = 0x10000 + ((pending_high - 0xD800) << 10) + (cp - 0xDC00)
        pending_high = 0
        if cp < 0x80 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            continue
        # Out of context: a lone escaped ZWJ or ZWNJ counts, since nothing shows what it joins.
        if is_hidden(chr(cp), 0) or cp == BOM:
            by_line.setdefault(line, []).append(cp)
    return [Hidden(line, tuple(cps), escaped=True) for line, cps in sorted(by_line.items())]


class _LineIndex:
    """Line numbers of offsets in a text, found by bisection over the newline offsets."""

    def __init__(self, text: str) -> None:
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        return bisect_left(self.newlines, offset) + 1
