"""Manifests for the import/export tests: a full one from fixtures, small ones built inline."""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture
def full_manifest() -> str:
    return fixture_text("full.toml")


def manifest(*entries: str, collection: str = 'name = "work"') -> str:
    """A manifest with a [collection] table and the given [[artifacts]] bodies."""
    parts = [f"[collection]\n{collection}\n"]
    parts.extend(f"[[artifacts]]\n{entry.strip()}\n" for entry in entries)
    return "\n".join(parts)


SKILL = """
name = "pdf"
type = "skill"
path = "skills/pdf"
origin = "github"
upstream = "acme/skills/skills/pdf"
added = "2025-11-02T14:00:00Z"
"""
AGENT = """
name = "reviewer"
type = "agent"
path = "agents/reviewer.md"
origin = "github"
upstream = "acme/agents/agents/reviewer.md"
added = "2025-11-02T14:00:00Z"
"""
