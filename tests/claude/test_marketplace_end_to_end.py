"""A collection reaches Claude Code as a marketplace (SPEC 15), end to end: a live site, its share
link, the real CLI with a scratch HOME, and upstream repositories that are real git repositories
(a local one for `git+file` sources, the GitHub fake's smart HTTP for GitHub sources).

What Claude Code installs is exactly the pinned commit: a `check_only` run leaves the pin, a
`sync` moves it and `plugin update` installs the new commit, a rollback takes it back."""

from __future__ import annotations

import json

import pytest

from collections_app.models import Artifact
from tests.claude.conftest import (
    Marketplace,
    add_marketplace,
    call,
    files_at,
    installed_files,
    refresh,
    share_url,
)
from tests.claude_code import ClaudeCode
from tests.gitrepo import LocalRepo

pytestmark = [pytest.mark.claude_cli, pytest.mark.django_db(transaction=True)]

SKILL = """\
---
name: code-review
description: Reviews a change for correctness, tests and naming before it is merged
---

# Code review

1. Read the change description, then the diff, file by file.
2. Check each item of [the checklist](checklist.md).
3. Write findings as questions when unsure.
"""
CHECKLIST = "- Are errors handled where they happen?\n- Is every new branch tested?\n"
AGENT = """\
---
name: release-reviewer
description: Checks a release branch for missing changelog entries and version bumps
tools: Read, Grep, Glob
---

You review release branches. List every merged change without a changelog entry.
"""
COMMAND = """\
---
description: Draft the changelog section for the commits since the last tag
argument-hint: [since-tag]
---

List the commits since $ARGUMENTS (or the last tag) and group them by area.
"""
HOOKS = {
    "description": "Refuse shell commands that force-push.",
    "hooks": {
        "PreToolUse": [
            {
                "matcher": "Bash",
                "hooks": [{"type": "command", "command": "./scripts/no-force-push.sh"}],
            }
        ]
    },
}
MCP = {
    "mcpServers": {
        "issue-tracker": {
            "command": "node",
            "args": ["servers/issues.js", "--read-only"],
            "env": {"TRACKER_URL": "http://127.0.0.1:9/issues"},
        }
    }
}
UPSTREAM_FILES = {
    "README.md": "# Team kit\n\nShared review tools.\n",
    "skills/code-review/SKILL.md": SKILL,
    "skills/code-review/checklist.md": CHECKLIST,
    "agents/release-reviewer.md": AGENT,
    "commands/changelog.md": COMMAND,
    "hooks/hooks.json": json.dumps(HOOKS, indent=2) + "\n",
    ".mcp.json": json.dumps(MCP, indent=2) + "\n",
}
# What `plugin details` counts for each type: it counts skills, hooks and MCP servers, not
# agents and commands given by explicit paths.
DETAILS = {
    "skill": {"skills": 1, "agents": 0, "hooks": 0, "mcp": 0},
    "agent": {"skills": 0, "agents": 0, "hooks": 0, "mcp": 0},
    "command": {"skills": 0, "agents": 0, "hooks": 0, "mcp": 0},
    "hook": {"skills": 0, "agents": 0, "hooks": 1, "mcp": 0},
    "mcp": {"skills": 0, "agents": 0, "hooks": 0, "mcp": 1},
}


@pytest.fixture
def upstream(tmp_path_factory, local_git) -> LocalRepo:
    repo = LocalRepo(tmp_path_factory.mktemp("upstream") / "acme" / "team-kit")
    # As a hosting service would: partial clones by filter, a pinned commit by its SHA.
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true")
    repo.commit(UPSTREAM_FILES, "Team kit")
    return repo


@pytest.fixture
def team_kit(owner_api, upstream) -> dict:
    """A collection of every artifact type of the upstream, discovered and synced."""
    collection = call(owner_api, "POST", "/collections/", 201, json={"name": "Team Kit"})
    found = call(
        owner_api,
        "POST",
        f"/collections/{collection['id']}/discover",
        200,
        json={"source": f"git+file://{upstream.path}", "refresh": True},
    )
    assert {a["status"] for a in found["artifacts"]} == {"added"}, found
    return collection


def plugins_by_type(market: Marketplace) -> dict[str, dict]:
    plugins = market.manifest()["plugins"]
    by_type = {p["category"]: p for p in plugins}
    assert len(by_type) == len(plugins) == 5, plugins
    return by_type


def assert_installed_at(market: Marketplace, upstream: LocalRepo, plugin: dict, sha: str):
    """The plugin's installed files are its directory's files at commit `sha`."""
    assert plugin["source"]["sha"] == sha
    installed = installed_files(market.install_path(plugin["name"]))
    assert installed == files_at(upstream.path, sha, plugin["source"]["path"])


def test_every_artifact_type_installs_from_the_pinned_commit(
    claude: ClaudeCode, owner_api, upstream, team_kit
):
    pinned = upstream.head()
    market = add_marketplace(claude, share_url(owner_api, team_kit["id"]))
    plugins = plugins_by_type(market)
    for plugin in plugins.values():
        market.install(plugin["name"])

    installed = market.installed()
    for kind, plugin in plugins.items():
        assert plugin["name"] in installed, installed
        assert "errors" not in installed[plugin["name"]], installed[plugin["name"]]
        assert_installed_at(market, upstream, plugin, pinned)
        assert market.details(plugin["name"]) == DETAILS[kind], kind
    # The MCP server Claude Code will start is the one the upstream file declares.
    assert installed[plugins["mcp"]["name"]]["mcpServers"] == MCP["mcpServers"]
    skill_files = installed_files(market.install_path(plugins["skill"]["name"]))
    assert skill_files == {"SKILL.md": SKILL.encode(), "checklist.md": CHECKLIST.encode()}


def test_pins_move_with_sync_and_back_with_rollback(
    claude: ClaudeCode, owner_api, upstream, team_kit
):
    first = upstream.head()
    market = add_marketplace(claude, share_url(owner_api, team_kit["id"]))
    skill = plugins_by_type(market)["skill"]["name"]
    market.install(skill)
    before = market.installed()[skill]["version"]

    revised = SKILL.replace("3. Write findings", "3. Run the tests.\n4. Write findings")
    second = upstream.commit({"skills/code-review/SKILL.md": revised}, "Run the tests too")

    # A check sees the update and moves no pin: an update installs nothing new.
    check = refresh(owner_api, team_kit["id"], "check_only")
    entries = {e["artifact"]: e for e in check["entries"]}
    assert entries["skill:code-review"]["update_available"] is True
    assert market.plugin(skill)["source"]["sha"] == first
    market.update(skill)
    assert market.installed()[skill]["version"] == before
    assert_installed_at(market, upstream, market.plugin(skill), first)

    # A sync moves the pin; the update installs the new commit.
    sync = refresh(owner_api, team_kit["id"], "sync")
    assert market.plugin(skill)["source"]["sha"] == second
    market.update(skill)
    assert market.installed()[skill]["version"] != before
    assert_installed_at(market, upstream, market.plugin(skill), second)
    skill_path = market.install_path(skill)
    assert (skill_path / "SKILL.md").read_text() == revised

    # Rolling the sync back takes the pin back, and the update installs the old commit again.
    call(owner_api, "POST", f"/refresh-runs/{sync['run_id']}/rollback", 200)
    assert Artifact.objects.get(name="code-review").resolved_sha == first
    assert market.plugin(skill)["source"]["sha"] == first
    market.update(skill)
    assert_installed_at(market, upstream, market.plugin(skill), first)
    assert (market.install_path(skill) / "SKILL.md").read_text() == SKILL
    assert "errors" not in market.installed()[skill]


def test_a_github_artifact_installs_through_the_fakes_smart_http(
    claude: ClaudeCode, owner_api, github_git, settings, tmp_path
):
    fake = github_git
    sha = fake.add_repo(
        "acme/review-kit",
        files={
            "skills/code-review/SKILL.md": SKILL,
            "skills/code-review/checklist.md": CHECKLIST,
            "README.md": "# Review kit\n",
        },
    )
    collection = call(owner_api, "POST", "/collections/", 201, json={"name": "GitHub Kit"})
    artifact = {
        "collection": str(collection["id"]),
        "type": "skill",
        "name": "code-review",
        "source": "acme/review-kit/skills/code-review",
    }
    call(owner_api, "POST", "/artifacts/", 201, json=artifact)
    refresh(owner_api, collection["id"], "sync")

    market = add_marketplace(claude, share_url(owner_api, collection["id"]))
    (plugin,) = market.manifest()["plugins"]
    assert plugin["source"]["url"] == fake.clone_url("acme/review-kit")
    assert plugin["source"]["sha"] == sha
    fake.reset_log()
    market.install(plugin["name"])

    installed = installed_files(market.install_path(plugin["name"]))
    assert installed == {"SKILL.md": SKILL.encode(), "checklist.md": CHECKLIST.encode()}
    assert "errors" not in market.installed()[plugin["name"]]
    assert market.details(plugin["name"])["skills"] == 1
    # Claude Code cloned over git's smart HTTP, protocol v2, from the fake alone.
    git_requests = [r for r in fake.requests if r.path.startswith("/acme/review-kit.git/")]
    assert git_requests and all(r.status == 200 for r in git_requests)
    assert all(r.headers.get("git-protocol") == "version=2" for r in git_requests)


def test_a_private_github_artifact_installs_with_the_members_own_git_credentials(
    claude: ClaudeCode, owner_api, github_git, settings
):
    """The manifest only names the clone URL: Claude Code clones with the member's git
    credentials, and without credentials that read the repository it installs nothing."""
    fake = github_git
    settings.SITE_TOKEN_PRIVATE_REPOS = "all"  # the site reads it with its own token
    sha = fake.add_repo("acme/internal-kit", files={"commands/changelog.md": COMMAND}, private=True)
    fake.add_token("member-token", login="dana", private=["acme/internal-kit"])
    collection = call(owner_api, "POST", "/collections/", 201, json={"name": "Internal Kit"})
    artifact = {
        "collection": str(collection["id"]),
        "type": "command",
        "name": "changelog",
        "source": "acme/internal-kit/commands/changelog.md",
    }
    call(owner_api, "POST", "/artifacts/", 201, json=artifact)
    refresh(owner_api, collection["id"], "sync")
    market = add_marketplace(claude, share_url(owner_api, collection["id"]))
    (plugin,) = market.manifest()["plugins"]
    assert plugin["source"]["sha"] == sha

    refused = claude.run("plugin", "install", f"{plugin['name']}@{market.name}", "--yes")
    assert refused.returncode == 1, refused.describe()
    assert "could not read Username" in refused.stderr
    assert plugin["name"] not in market.installed()
    assert any(r.status == 401 for r in fake.requests if r.path.startswith("/acme/internal-kit"))

    # The member's own credential, as git keeps it (credential.helper store) in their HOME.
    host = fake.web_url.removeprefix("http://")
    (claude.home / ".git-credentials").write_text(f"http://dana:member-token@{host}\n")
    (claude.home / ".gitconfig").write_text("[credential]\n\thelper = store\n")
    market.install(plugin["name"])
    installed = installed_files(market.install_path(plugin["name"]))
    assert installed == {"changelog.md": COMMAND.encode()}
    assert "errors" not in market.installed()[plugin["name"]]
