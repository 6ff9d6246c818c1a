"""An upstream repository holding four kinds of artifact (hook, MCP config, skill, agent), on
the GitHub fake (REST or GraphQL plan) or in a real git repository, for the review tests.

`Kit.change()` makes the one commit our hostile fixtures describe: a hook that pipes curl into a
shell, an MCP server swapped for a look-alike package, a skill smuggling hidden instructions
with a new script, an agent given Bash and a new host.
"""

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from collections_app.models import Artifact, Collection
from refresher.models import Mode, RefreshRun, Trigger
from refresher.options import RefreshOptions
from refresher.service import launch
from tests.factories import ArtifactFactory, CollectionFactory
from tests.gitrepo import LocalRepo
from tests.webhooks.payloads import commit as push_commit
from tests.webhooks.payloads import deliver, push

FIXTURES = Path(__file__).parent / "fixtures" / "review"
FULL_NAME = "acme/kit"
# (type, name, path in the repository, fixture stem)
ARTIFACTS = [
    ("hook", "formatter", "hooks/hooks.json", "hooks"),
    ("mcp", "github-tools", ".mcp.json", "mcp"),
    ("skill", "release-notes", "skills/release-notes", "skill"),
    ("agent", "test-writer", "agents/test-writer.md", "agent"),
]
MAIN_FILES = {
    "hooks/hooks.json": "hooks",
    ".mcp.json": "mcp",
    "skills/release-notes/SKILL.md": "skill",
    "agents/test-writer.md": "agent",
}
SCRIPT = "skills/release-notes/scripts/collect.sh"
# What the scanner must find in the change, per artifact name.
EXPECTED = {
    "formatter": [("hook_command", "medium"), ("hook_command", "high"), ("new_url_host", "low")],
    "github-tools": [("mcp_command_changed", "high")],
    "release-notes": [
        ("hidden_unicode", "high"),
        ("hidden_unicode", "high"),
        ("tools_widened", "medium"),
        ("script_changed", "medium"),
    ],
    "test-writer": [("tools_widened", "medium"), ("new_url_host", "low")],
}


def fixture(stem: str, version: str) -> str:
    suffix = "json" if stem in ("hooks", "mcp") else "md"
    return (FIXTURES / f"{stem}-{version}.{suffix}").read_text(encoding="utf-8")


def files(version: str) -> dict[str, str]:
    return {path: fixture(stem, version) for path, stem in MAIN_FILES.items()}


class Kit:
    """The upstream of one test: `kind` is rest, graphql (the GitHub fake) or git."""

    def __init__(self, kind: str, *, github: Any = None, repo: LocalRepo | None = None) -> None:
        self.kind = kind
        self.github = github
        self.repo = repo

    @property
    def is_git(self) -> bool:
        return self.kind == "git"

    def create(self, date: datetime | None = None) -> str:
        initial = {**files("before"), "README.md": "# Kit\n"}
        if self.is_git:
            assert self.repo is not None
            return self.repo.commit(initial, "initial", date=date)
        self.github.add_repo(FULL_NAME, files=initial, date=date)
        return str(self.github.head(FULL_NAME))

    def commit(
        self,
        changes: Mapping[str, str | None],
        message: str = "update",
        *,
        date: datetime | None = None,
        executable: tuple[str, ...] = (),
    ) -> str:
        if self.is_git:
            assert self.repo is not None
            return self.repo.commit(changes, message, date=date, executable=executable)
        return str(self.github.commit(FULL_NAME, files=changes, message=message, date=date))

    def change(self, *, date: datetime | None = None) -> str:
        """The one hostile commit touching all four artifacts."""
        changes = {**files("after"), SCRIPT: "#!/bin/sh\ncurl -s https://collect.example.net\n"}
        return self.commit(changes, "Tidy up the kit", date=date, executable=(SCRIPT,))

    def source(self, path: str) -> str:
        if self.is_git:
            assert self.repo is not None
            return self.repo.source(path)
        return f"{FULL_NAME}/{path}"

    def collection(self, owner: Any, **settings: Any) -> Collection:
        collection = CollectionFactory(owner=owner, name=f"Kit {self.kind}", **settings)
        for kind, name, path, _ in ARTIFACTS:
            ArtifactFactory(collection=collection, type=kind, name=name, source=self.source(path))
        return collection

    def upstream_run(self, collection: Collection, capture: Any) -> RefreshRun:
        """A run nobody asked for, of the collection's auto mode: a push on GitHub (through the
        webhook, carried out by the task worker), a scheduled run for a git source."""
        if self.is_git:
            options = RefreshOptions(mode=collection.auto_refresh_mode)
            return launch(collection, options, trigger=Trigger.SCHEDULE, inline=True).run
        payload = push(
            full_name=FULL_NAME,
            commits=[push_commit(modified=[*MAIN_FILES], added=[SCRIPT])],
        )
        with capture(execute=True):
            response = deliver(payload)
        assert response.status_code == 202, response.content
        (run_id,) = response.json()["runs"]
        return RefreshRun.objects.get(pk=run_id)


def sync(collection: Collection, *, trigger: str = Trigger.API, **options: Any) -> RefreshRun:
    return launch(
        collection, RefreshOptions(mode=Mode.SYNC, **options), trigger=trigger, inline=True
    ).run


def artifact(collection: Collection, name: str) -> Artifact:
    return collection.artifacts.get(name=name)


def codes(findings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in findings]
