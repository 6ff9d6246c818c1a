"""The discovery fixture repository (tests/fixtures/claude-kit): every artifact kind and a
Claude Code plugin marketplace, as a GitHub fake repository or a real local git repository."""

from pathlib import Path
from typing import Any

KIT = Path(__file__).parent / "fixtures" / "claude-kit"


def kit_files() -> dict[str, str]:
    return {
        str(path.relative_to(KIT)): path.read_text()
        for path in sorted(KIT.rglob("*"))
        if path.is_file()
    }


def add_kit_repo(github: Any, full_name: str = "acme/claude-kit") -> str:
    github.add_repo(full_name, files=kit_files(), topics=["claude-code"], license_spdx="MIT")
    return full_name


# What discovering the whole repository finds: (type, name, path, status, reason).
KIT_FOUND = {
    ("skill", "semver", "plugins/release-tools/skills/semver", "found", ""),
    ("skill", "broken", "skills/broken", "invalid", "invalid_metadata"),
    ("skill", "changelog", "skills/changelog", "found", ""),
    ("skill", "pdf-tools", "skills/pdf", "found", ""),
    ("agent", "code-reviewer", "agents/code-reviewer.md", "found", ""),
    ("agent", "../../outside", "agents/sneaky.md", "invalid", "invalid_name"),
    ("agent", "release-manager", "plugins/release-tools/agents/release-manager.md", "found", ""),
    ("command", "deploy", "commands/deploy.md", "found", ""),
    ("command", "deploy", "plugins/release-tools/commands/deploy.md", "invalid", "duplicate_name"),
    ("command", "release", "plugins/release-tools/commands/release.md", "found", ""),
    ("hook", "claude-kit", "hooks/hooks.json", "found", ""),
    ("hook", "release-tools", "plugins/release-tools/hooks/hooks.json", "found", ""),
    ("hook", "security-guard", "plugins/security-guard/hooks/hooks.json", "found", ""),
    ("mcp", "claude-kit", ".mcp.json", "found", ""),
    ("mcp", "security-guard", "plugins/security-guard/.mcp.json", "found", ""),
    (None, "design-system", ".claude-plugin/marketplace.json", "invalid", "external_source"),
    (None, "outside", ".claude-plugin/marketplace.json", "invalid", "invalid_source"),
}


def as_set(artifacts: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(a["type"], a["name"], a["path"], a["status"], a["reason"]) for a in artifacts}
