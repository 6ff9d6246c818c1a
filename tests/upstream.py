"""Helpers for tests that read our upstream fixture files."""

from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "upstream"

# The description the `skill-pdf.md` fixture's frontmatter gives.
PDF_DESCRIPTION = (
    "Work with PDF files: pull out text and tables, fill in forms, merge and split documents. "
    "Use it whenever a task mentions a PDF, even when the user does not say so outright."
)

# The keys of the RefreshResponse of SPEC section 6.
RESPONSE_KEYS = frozenset(
    {
        "run_id",
        "collection_id",
        "status",
        "mode",
        "dry_run",
        "fields",
        "started_at",
        "finished_at",
        "duration_ms",
        "summary",
        "entries",
        "rate_limit",
        "request_id",
    }
)


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def add_skills_repo(github: Any, *, extra: dict[str, str] | None = None, **repo: Any) -> str:
    """Create `acme/skills` with the pdf and changelog skills (and `extra` files)."""
    files = {
        "skills/pdf/SKILL.md": fixture_text("skill-pdf.md"),
        "skills/changelog/SKILL.md": fixture_text("skill-spdx.md"),
        **(extra or {}),
    }
    github.add_repo(
        "acme/skills", files=files, **{"topics": ["pdf", "docs"], "license_spdx": "MIT", **repo}
    )
    return "acme/skills"
