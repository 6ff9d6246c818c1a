"""The `claude` fixture runs the pinned CLI offline, and `plugin validate --strict` judges a
hand-written marketplace the way it will judge the site's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.claude_code import PINNED_VERSION, ClaudeCode

pytestmark = pytest.mark.claude_cli

SHA = "3f5a0c1d2e4b6a8c9d0e1f2a3b4c5d6e7f8a9b0c"


def marketplace(**plugin_fields: object) -> dict[str, object]:
    """A marketplace of one skill plugin, in the shape the site serves."""
    plugin: dict[str, object] = {
        "name": "release-notes",
        "description": "Drafts release notes from merged pull requests",
        "category": "skill",
        "source": {
            "source": "git-subdir",
            "url": "https://git.example.test/acme/writing-kit.git",
            "path": "skills/release-notes",
            "sha": SHA,
        },
        "strict": False,
        "skills": ["./"],
        **plugin_fields,
    }
    return {
        "name": "acme-writing",
        "owner": {"name": "alice"},
        "description": "Acme's writing skills",
        "plugins": [plugin],
    }


def write_marketplace(root: Path, manifest: dict[str, object]) -> Path:
    (root / ".claude-plugin").mkdir(parents=True)
    (root / ".claude-plugin" / "marketplace.json").write_text(json.dumps(manifest, indent=2))
    return root


def test_the_pinned_cli_runs_with_the_scratch_home(claude: ClaudeCode):
    result = claude.run("--version").check()
    assert result.stdout.startswith(f"{PINNED_VERSION} "), result.describe()
    assert claude.env["HOME"] == str(claude.home)
    assert all(str(claude.home) in claude.env[name] for name in ("XDG_CONFIG_HOME", "TMPDIR"))


def test_a_good_marketplace_passes_strict_validation(claude: ClaudeCode, tmp_path: Path):
    root = write_marketplace(tmp_path / "good", marketplace())
    result = claude.run("plugin", "validate", "--strict", root)
    assert result.returncode == 0, result.describe()
    assert "Validation passed" in result.output
    assert "warning" not in result.output.lower()


def test_the_word_claude_in_a_plugin_name_fails_strict_validation(
    claude: ClaudeCode, tmp_path: Path
):
    root = write_marketplace(tmp_path / "warned", marketplace(name="notes-for-claude"))
    lenient = claude.run("plugin", "validate", root)
    assert lenient.returncode == 0, lenient.describe()
    assert "notes-for-claude" in lenient.output
    strict = claude.run("plugin", "validate", "--strict", root)
    assert strict.returncode == 1, strict.describe()
    assert "plugins[0].name" in strict.output
    assert "--strict treats warnings as errors" in strict.output


def test_a_reserved_name_prefix_fails_even_without_strict(claude: ClaudeCode, tmp_path: Path):
    root = write_marketplace(tmp_path / "reserved", marketplace(name="claude-release-notes"))
    result = claude.run("plugin", "validate", root)
    assert result.returncode != 0, result.describe()
    assert "claude-release-notes" in result.output


def test_the_cli_cannot_reach_the_network(claude: ClaudeCode):
    """A marketplace on a host outside the machine cannot be added: the proxy answers nothing."""
    result = claude.run(
        "plugin",
        "marketplace",
        "add",
        "https://marketplace.example.com/marketplace.json",
        timeout=60,
    )
    assert result.returncode != 0, result.describe()
    assert "127.0.0.1:9" in result.output, result.describe()
    known = claude.config_dir / "plugins" / "known_marketplaces.json"
    assert not known.exists() or "marketplace.example.com" not in known.read_text()
