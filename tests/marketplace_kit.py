"""Making marketplaces in tests (SPEC 15): share links, and collections with an artifact of each
type synced from a local git repository.

`share_link_url(collection)` makes a share link the way the API does and returns its path,
`/m/<token>/marketplace.json`; tests that serve the site prefix it with the live server's URL.
"""

from collections_app.marketplace.links import create_link, manifest_path
from collections_app.models import Collection


def share_link_url(collection: Collection, *, label: str = "") -> str:
    """A new share link of `collection`: the path of its manifest (the token is in it)."""
    return manifest_path(create_link(collection, label=label).token)


SKILL_MD = """---
name: pdf
description: Read, fill and merge PDF documents.
---
# PDF

Use this skill for anything that involves a PDF file.
"""
AGENT_MD = """---
name: reviewer
description: Reviews a change for correctness and style.
tools: Read, Grep
---
You review code changes. Point out bugs first, style last.
"""
COMMAND_MD = """---
description: Write a changelog entry for the staged changes.
---
Summarise the staged diff as one changelog entry under "Unreleased".
"""
HOOKS_JSON = """{
  "description": "Format files after each edit",
  "hooks": {
    "PostToolUse": [
      {
        "matcher": "Write|Edit",
        "hooks": [{"type": "command", "command": "npx prettier --write \\"$CLAUDE_FILE_PATHS\\""}]
      }
    ]
  }
}
"""
MCP_JSON = """{
  "mcpServers": {
    "tickets": {
      "command": "npx",
      "args": ["-y", "@acme/tickets-mcp"],
      "env": {"TICKETS_URL": "https://tickets.example.com"}
    }
  }
}
"""
# One file of each type, where Claude Code plugins keep them.
UPSTREAM_FILES = {
    "skills/pdf/SKILL.md": SKILL_MD,
    "skills/pdf/scripts/fill.py": "print('fill')\n",
    "agents/reviewer.md": AGENT_MD,
    "commands/changelog.md": COMMAND_MD,
    "hooks/hooks.json": HOOKS_JSON,
    ".mcp.json": MCP_JSON,
}
# (type, name, path in the repository) of the artifacts made from UPSTREAM_FILES.
UPSTREAM_ARTIFACTS = [
    ("skill", "pdf", "skills/pdf"),
    ("agent", "reviewer", "agents/reviewer.md"),
    ("command", "changelog", "commands/changelog.md"),
    ("hook", "format-on-edit", "hooks/hooks.json"),
    ("mcp", "tickets", ".mcp.json"),
]
