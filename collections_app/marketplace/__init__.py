"""A collection as a Claude Code plugin marketplace (SPEC 15).

`manifest` (the pure builder: rows in, `marketplace.json` out) and `names` (names Claude Code
accepts); `rows` (the collection and its artifacts read as plain rows, in a fixed number of
queries); `links` (share links: tokens, hashes, look-up); `views`, `serializers` and `schema` (the
API and the anonymous `/m/<token>/marketplace.json`); `admin` (the collection page's box).
"""
