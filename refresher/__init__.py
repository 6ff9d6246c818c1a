"""Keeping artifacts fresh: the engine core (flat), `upstream/` (where upstream is read) and
`triggers/` (what starts runs nobody pressed, and what follows them).

Doors start runs through `refresher.service.launch`; `refresher.engine.Refresher` carries them out.
"""
