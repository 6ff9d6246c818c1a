"""Bounds a manifest's raw text must keep before `tomllib` is given it (SPEC 18), and what its
parsed values must keep before they are stored.

`tomllib`'s time grows with the square of a dotted key's depth (`x.a.a.a...`: 80 KB of it take
half a minute) and with the number of keys, so these are checked first, on the text itself, in
time linear in its length: strings and comments are blanked out by one regular expression (each
of its branches matches whatever follows its opening quote, up to the end of the text when
unterminated, so nothing is scanned twice), then dots, brackets and `=` are counted in what is
left. The bounds are far above what any manifest of `IMPORT_MAX_ARTIFACTS` entries needs.
"""

import itertools
import re

# Deepest dotted key (`a.b.c` is 3) and deepest nesting of inline arrays and tables; the
# parsed document's values may not nest deeper than MAX_DEPTH either.
MAX_KEY_DEPTH = 32
MAX_NESTING = MAX_DEPTH = 32
# Keys and values (each `=` and each `,` outside strings) per artifact, on average, that the
# manifest may hold: a full entry of the single-user tool has about fifteen. `tomllib` reads
# the largest manifest these allow (125,000 at the default 5,000 artifacts) in under a second.
ITEMS_PER_ARTIFACT = 25
MIN_ITEMS = 10_000

_STRINGS_AND_COMMENTS = re.compile(
    r'"""(?:[^"\\]|\\[\s\S]|"(?!""))*(?:"""|\Z)'
    r"|'''[\s\S]*?(?:'''|\Z)"
    r'|"(?:[^"\\\n]|\\.)*(?:"|(?=\n)|\Z)'
    r"|'[^'\n]*(?:'|(?=\n)|\Z)"
    r"|#[^\n]*"
)
# What is left of the text once strings are blanked: dots and the characters that end a key.
_NOT_KEY_STRUCTURE = re.compile(r"[^.\n=,{}\[\]]+")
_DEEP_KEY = "." * MAX_KEY_DEPTH
_ARTIFACT_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*artifacts[ \t]*\]\]", re.MULTILINE)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def bound_problem(text: str, *, max_artifacts: int) -> str | None:
    """Why `text` may not be parsed (a sentence), or None when it keeps every bound."""
    skeleton = _STRINGS_AND_COMMENTS.sub('""', text)
    # Dots with nothing but key text between them are one dotted key (a float's single dot,
    # after `=` or `,`, never adds up to many).
    if _DEEP_KEY in _NOT_KEY_STRUCTURE.sub("", skeleton):
        return f"A key must not have more than {MAX_KEY_DEPTH} dotted parts."
    max_items = max(MIN_ITEMS, ITEMS_PER_ARTIFACT * max_artifacts)
    if skeleton.count("=") + skeleton.count(",") > max_items:
        return f"The manifest holds more than {max_items} keys and values."
    headers = itertools.islice(_ARTIFACT_HEADER.finditer(skeleton), max_artifacts + 1)
    if sum(1 for _ in headers) > max_artifacts:
        return f"The manifest has more than {max_artifacts} artifacts (IMPORT_MAX_ARTIFACTS)."
    brackets = _NOT_BRACKET.sub("", skeleton)
    if len(brackets) > max_items:
        return f"The manifest holds more than {max_items} arrays and tables."
    # A `[[table]]` header is two brackets deep.
    if (
        max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets), initial=0))
        > MAX_NESTING + 2
    ):
        return f"Arrays and inline tables must not be nested more than {MAX_NESTING} levels deep."
    return None


def first_flaw(value: object, place: str = "manifest", depth: int = 0) -> tuple[str, str] | None:
    """Where a value no column can store hides: a NUL character (no database text column holds
    one) or nesting deeper than MAX_DEPTH; None when there is none."""
    if depth > MAX_DEPTH:
        return place, f"Values must not be nested more than {MAX_DEPTH} levels deep."
    if isinstance(value, str):
        return (place, "Text must not contain NUL characters.") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = first_flaw(key, place, depth) or first_flaw(item, f"{place}.{key}", depth + 1)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = first_flaw(item, f"{place}[{index}]", depth + 1)
            if found:
                return found
    return None
