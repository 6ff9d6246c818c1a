"""Credentials users hold for private sources: secrets at rest, kinds, rotation, choosing one."""
