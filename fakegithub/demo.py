"""Demo repositories: what `python -m fakegithub --demo`, the README and the load test serve."""

from __future__ import annotations

import json

from .server import FakeGitHub

# ---------------------------------------------------------------------------------

_DEMO_SKILLS = {
    "skills/pdf/SKILL.md": """\
---
name: pdf
description: "Read, fill and assemble PDF files: pull out text and tables, merge, split."
license: Apache-2.0
---

# PDF toolkit

Start with `scripts/extract_text.py` to see what a document holds, then pick the recipe below
that matches the task. Keep the original file untouched and write results next to it.

## Recipes

- Extract text page by page and keep page numbers in the output.
- Merge files in the order the user gave, not alphabetically.
- Fill form fields by their internal names; list them first when unsure.
""",
    "skills/pdf/scripts/extract_text.py": """\
import sys


def main(path: str) -> None:
    print(f"would extract text from {path}")


if __name__ == "__main__":
    main(sys.argv[1])
""",
    "skills/docx/SKILL.md": """\
---
name: docx
description: Create and edit Word documents, keeping styles, comments and tracked changes intact.
license: Apache-2.0
---

# Word documents

A .docx file is a zip of XML parts. Edit the parts through the helpers in this folder rather than
by hand, so numbering, styles and tracked changes survive the round trip.

Before handing a document back, open it once more and check that headings still use the
document's own styles.
""",
    "skills/skill-creator/SKILL.md": """\
---
name: skill-creator
description: How to write a new skill, from the first SKILL.md to bundled scripts and references.
license: MIT
---

# Writing a skill

A skill is a folder with a SKILL.md whose frontmatter says what it is called and when it helps.
Keep the description concrete: name the tasks and file types that should bring the skill in.

1. Write the frontmatter: `name` and `description`, plus `license` when the folder ships code.
2. Put instructions in the body, short enough to read in one go.
3. Move long references and helper scripts into files next to it.
""",
    "README.md": "# Skills\n\nA small set of example skills for the SkillMeat demo.\n",
}

_DEMO_TOOLBOX = {
    "commands/review.md": """\
---
description: Review the staged diff for bugs, missing tests and unclear names.
author: Demo Maintainers
---

Read the staged changes and report problems ordered by how much they matter.
""",
    "agents/researcher.md": """\
---
name: researcher
description: Gathers facts from the repository before any change is planned.
---

You collect evidence: files, call sites and tests that matter for the question asked.
""",
    "hooks/format-on-save/HOOK.md": "# Format on save\n\nRuns the formatter after each edit.\n",
    "mcp/filesystem.json": json.dumps(
        {"mcpServers": {"filesystem": {"command": "mcp-filesystem", "args": ["."]}}}, indent=2
    )
    + "\n",
}


def add_demo_repos(fake: FakeGitHub) -> None:
    """Load the demo repositories used by ``--demo``, the README walkthrough and locust."""
    fake.add_repo(
        "anthropics/skills",
        files=_DEMO_SKILLS,
        topics=["skills", "claude", "agent-skills"],
        license_spdx="Apache-2.0",
    )
    fake.set_repo(
        "anthropics/skills",
        owner_type="Organization",
        description="Example skills for Claude",
        homepage="https://example.com/skills",
    )
    fake.add_repo(
        "example-org/claude-toolbox",
        files=_DEMO_TOOLBOX,
        topics=["claude-code", "commands"],
        license_spdx="MIT",
    )
    fake.tag("example-org/claude-toolbox", "v1.0.0", annotated=True)
    fake.set_repo("example-org/claude-toolbox", owner_type="Organization")
