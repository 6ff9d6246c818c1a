"""Helpers for tests that read our upstream fixture files."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "upstream"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()
