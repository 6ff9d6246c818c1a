"""Every manifest the site serves passes Claude Code's own `plugin validate --strict`, warnings
included (SPEC 15), and the shape chosen for a repository-root skill installs it whole.

The manifests are fetched the way Claude Code fetches them (by share link, no login) and given
to the real CLI (the `claude` fixture: the pinned version, a scratch HOME, no network)."""

import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from collections_app.models import Collection
from tests.claude_code import ClaudeCode
from tests.factories import ArtifactFactory, CollectionFactory
from tests.gitrepo import LocalRepo
from tests.marketplace_kit import AGENT_MD, HOOKS_JSON, MCP_JSON, SKILL_MD, share_link_url

pytestmark = [pytest.mark.claude_cli, pytest.mark.django_db]

SHA = "0123456789abcdef0123456789abcdef01234567"


def served(collection: Collection) -> dict:
    answer = APIClient().get(share_link_url(collection))
    assert answer.status_code == 200, answer.content
    return json.loads(answer.content)


def validate(claude: ClaudeCode, manifest: dict, where: Path) -> str:
    (where / ".claude-plugin").mkdir(parents=True)
    (where / ".claude-plugin" / "marketplace.json").write_text(json.dumps(manifest))
    result = claude.run("plugin", "validate", "--strict", where)
    assert result.returncode == 0, result.describe()
    assert "warning" not in result.output.lower(), result.describe()
    assert "Validation passed" in result.output, result.describe()
    return result.output


def pinned(collection: Collection, kind: str, name: str, **fields: object) -> None:
    defaults = {
        "skill": f"acme/kit/skills/{name}",
        "agent": f"acme/kit/agents/{name}.md",
        "command": f"acme/kit/commands/{name}.md",
        "hook": "acme/kit/hooks/hooks.json",
        "mcp": "acme/kit/.mcp.json",
    }
    fields.setdefault("source", defaults[kind])
    fields.setdefault("content", {"hook": HOOKS_JSON, "mcp": MCP_JSON}.get(kind, ""))
    ArtifactFactory(collection=collection, type=kind, name=name, resolved_sha=SHA, **fields)


def test_a_synced_collection_of_every_type_validates(claude, synced, tmp_path):
    manifest = served(synced)
    assert {p["category"] for p in manifest["plugins"]} == {
        "skill",
        "agent",
        "command",
        "hook",
        "mcp",
    }
    validate(claude, manifest, tmp_path / "market")


def test_colliding_reserved_and_odd_names_validate(claude, user, tmp_path):
    collection = CollectionFactory(
        owner=user, name="Claude Tools (official)", description="Line one.\nLine two.", version="3"
    )
    pinned(collection, "skill", "review", tags=["code review", "Docs"], topics=["docs"])
    pinned(collection, "agent", "review", author="Dana Reviewer", license="MIT")
    pinned(collection, "command", "Deploy Now", description="Ship it. " * 80)
    pinned(collection, "command", "deploy-now")
    pinned(collection, "skill", "claude-helper")
    pinned(collection, "skill", "helper")
    pinned(collection, "agent", "my-claude-bot")
    pinned(collection, "agent", "Claude")
    pinned(collection, "command", "cc-plugin-lint")
    pinned(collection, "hook", "anthropic-official-guard")
    pinned(collection, "mcp", "Ünïcode tickets")
    pinned(collection, "skill", "whole-repo", source="acme/whole")  # the repository's root
    pinned(collection, "agent", "top", source="acme/kit/top.md")  # a file at the root
    # Left out: no upstream, never synced, a source of another host, a hook with no config.
    ArtifactFactory(collection=collection, name="local", source="./skills/local")
    ArtifactFactory(collection=collection, name="unsynced")
    ArtifactFactory(collection=collection, name="elsewhere", source="https://example.com/a/b")
    pinned(collection, "hook", "prose", source="acme/kit/hooks/prose", content="# Hooks")

    manifest = served(collection)
    names = [p["name"] for p in manifest["plugins"]]
    assert len(names) == len(set(names)) == 13
    assert not any("claude" in n or "anthropic" in n for n in [*names, manifest["name"]])
    validate(claude, manifest, tmp_path / "market")


@pytest.mark.parametrize("name", ["inline", "skills-dir", "builtin", "Claude", "claude-code"])
def test_marketplace_names_claude_code_keeps_for_itself_are_avoided(claude, user, tmp_path, name):
    collection = CollectionFactory(owner=user, name=name)
    pinned(collection, "skill", "pdf")
    validate(claude, served(collection), tmp_path / "market")


def test_a_root_skill_installs_whole_and_a_root_file_installs_its_file(
    claude, user, tmp_path, settings
):
    """A skill that is its repository's root is fetched whole (`url`), scripts included; an
    agent at the root is a `git-subdir` of `.`, which holds the files at the root."""
    settings.GIT_ALLOW_LOCAL = True
    repo = LocalRepo(tmp_path / "upstream" / "acme" / "whole")
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true")
    head = repo.commit(
        {"SKILL.md": SKILL_MD, "scripts/fill.py": "print('fill')\n", "helper.md": AGENT_MD},
        "a skill at the root",
    )
    collection = CollectionFactory(owner=user, name="Root kit")
    ArtifactFactory(collection=collection, name="pdf", source=repo.source(), resolved_sha=head)
    ArtifactFactory(
        collection=collection,
        type="agent",
        name="helper",
        source=repo.source("helper.md"),
        resolved_sha=head,
    )
    manifest = served(collection)
    skill = next(p for p in manifest["plugins"] if p["name"] == "pdf")
    assert skill["source"] == {"source": "url", "url": f"file://{repo.path}", "sha": head}
    market = tmp_path / "market"
    validate(claude, manifest, market)

    claude.run("plugin", "marketplace", "add", market).check()
    for plugin in ("pdf", "helper"):
        claude.run("plugin", "install", f"{plugin}@root-kit").check()
    listed = {p["id"]: p for p in claude.run("plugin", "list", "--json").check().json()}
    pdf, helper = listed["pdf@root-kit"], listed["helper@root-kit"]
    assert not pdf.get("errors") and not helper.get("errors")
    assert (Path(pdf["installPath"]) / "scripts" / "fill.py").is_file()
    assert (Path(helper["installPath"]) / "helper.md").is_file()
