"""The offline demo of `make run`, installed in Claude Code as the README says: a share link of
the demo collection, `claude plugin marketplace add`, then every artifact type as a plugin."""

from __future__ import annotations

import re
import shlex
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from collections_app.management.commands.seed_demo import OFFLINE_COLLECTION
from collections_app.models import Collection
from tests.claude.conftest import Marketplace, known_marketplace, share_url
from tests.claude_code import ClaudeCode

pytestmark = [pytest.mark.claude_cli, pytest.mark.django_db(transaction=True)]

README = Path(__file__).resolve().parents[2] / "README.md"
ALL_TYPES = {"skill", "agent", "command", "hook", "mcp"}


def readme_claude_commands() -> list[str]:
    """The `claude ...` lines of the README's "Install it in Claude Code" walk-through."""
    text = README.read_text()
    section = text[text.index("### Install it in Claude Code") :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the walk-through has no sh block"
    return [line for line in block[1].splitlines() if line.startswith("claude ")]


@pytest.fixture
def demo_site(local_git, tmp_path_factory):
    local_git.VAR_DIR = tmp_path_factory.mktemp("var")
    call_command("seed_demo", stdout=StringIO())
    return Collection.objects.get(name=OFFLINE_COLLECTION)


def test_every_artifact_type_of_the_demo_installs_as_a_plugin(
    claude: ClaudeCode, owner_api, demo_site
):
    # The demo collection is the demo user's; its share link is made with the demo user's token.
    token = Token.objects.get(user=demo_site.owner).key
    owner_api.headers["Authorization"] = f"Token {token}"
    url = share_url(owner_api, demo_site.pk)

    # The README's commands, run as written: the share URL, then each plugin in turn.
    commands = readme_claude_commands()
    assert commands[0] == 'claude plugin marketplace add "$SHARE_URL"'
    claude.run(*shlex.split(commands[0].replace('"$SHARE_URL"', url))[1:]).check()
    market = known_marketplace(claude, url)
    assert market.name == "offline-demo-local-git"  # the name the README gives
    plugins = market.manifest()["plugins"]
    assert {p["category"] for p in plugins} == ALL_TYPES
    assert len(plugins) == demo_site.artifacts.count()
    assert {"commit-message", "test-writer", "standup"} <= {p["name"] for p in plugins}
    for line in commands[1:]:
        line = line.replace("<marketplace>", market.name)
        for name in [p["name"] for p in plugins] if "<plugin>" in line else [""]:
            claude.run(*shlex.split(line.replace("<plugin>", name))[1:]).check()

    installed = market.installed()
    assert set(installed) == {p["name"] for p in plugins}
    for plugin in plugins:
        assert "errors" not in installed[plugin["name"]], installed[plugin["name"]]
    assert_counts(market, plugins)


def assert_counts(market: Marketplace, plugins: list[dict]) -> None:
    counted = {"skill": "skills", "hook": "hooks", "mcp": "mcp"}
    for plugin in plugins:
        details = market.details(plugin["name"])
        key = counted.get(plugin["category"])
        assert sum(details.values()) == (1 if key else 0), (plugin["name"], details)
        if key:
            assert details[key] == 1, (plugin["name"], details)
