"""The type of plain JSON data, for what the engine keeps or reads as JSON.

A main file's frontmatter once made plain, a marketplace manifest: what carries them says what
it holds, down to the leaves. (`refresher.upstream.reads` spells the same alias for what comes
off the wire; mypy compares the two by structure, so either fits the other.)
"""

type JSON = str | int | float | bool | list[JSON] | dict[str, JSON] | None
type JSONObject = dict[str, JSON]
