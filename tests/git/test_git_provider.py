"""Refreshing git sources through the engine, against real repositories the tests create.

The same modes, field derivation, update detection, pins and entry codes as GitHub sources; the
engine is the production one (`refresher.service.refresh_now`), so the git provider is reached
the way every door reaches it.
"""

from collections import Counter

import pytest

from collections_app.models import Artifact
from refresher.engine import Refresher
from refresher.models import EntryStatus, Mode, RefreshRun
from refresher.options import RefreshOptions
from refresher.rollback import rollback_run
from refresher.service import refresh_now
from refresher.sources import SourceKind
from refresher.upstream.git.cli import Git
from refresher.upstream.git.provider import GitProvider
from tests.factories import ArtifactFactory, CollectionFactory

pytestmark = pytest.mark.django_db

PDF = """---
name: pdf
description: Read, fill and merge PDF documents.
license: apache-2.0
topics: [pdf, documents]
---
# PDF

Use this skill for anything that involves a PDF file.
"""
PDF_V2 = PDF.replace("Read, fill and merge PDF documents.", "Read, fill, merge and sign PDFs.")
REVIEWER = """---
name: reviewer
description: Reviews a change for correctness and style.
author:
  name: Dana Reviewer
---
You review code.
"""


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user)


@pytest.fixture
def seeded(upstream):
    upstream.commit(
        {
            "skills/pdf/SKILL.md": PDF,
            "skills/pdf/scripts/fill.py": "print('fill')\n",
            "agents/reviewer.md": REVIEWER,
            "README.md": "# Acme skills\n",
        },
        "initial",
    )
    return upstream


def only_entry(run: RefreshRun):
    return run.entries.get()


def test_metadata_refresh_reads_frontmatter_and_the_owner_segment(collection, seeded):
    skill = ArtifactFactory(collection=collection, name="pdf", source=seeded.source("skills/pdf"))
    run = refresh_now(collection, RefreshOptions())
    assert run.status == "completed", list(run.entries.values("error_code", "error_message"))
    skill.refresh_from_db()
    assert skill.description == "Read, fill and merge PDF documents."
    assert skill.title == "pdf"
    assert skill.author == "acme"  # the repository path's owner segment
    assert skill.license == "Apache-2.0"  # from the frontmatter only
    assert skill.topics == ["documents", "pdf"]  # from the frontmatter only
    entry = only_entry(run)
    assert entry.upstream_sha == seeded.head()
    assert entry.status == EntryStatus.REFRESHED


def test_author_from_frontmatter_wins_and_file_artifacts_work(collection, seeded):
    agent = ArtifactFactory(
        collection=collection,
        type="agent",
        name="reviewer",
        source=seeded.source("agents/reviewer.md"),
    )
    refresh_now(collection, RefreshOptions())
    agent.refresh_from_db()
    assert agent.author == "Dana Reviewer"
    assert agent.license == "" and agent.topics == []


def test_sync_records_content_and_detects_updates_per_path(collection, seeded):
    skill = ArtifactFactory(collection=collection, name="pdf", source=seeded.source("skills/pdf"))
    run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    skill.refresh_from_db()
    assert skill.content == PDF
    assert skill.content_sha == seeded.object_sha("skills/pdf")
    assert skill.resolved_sha == seeded.head()

    # A commit elsewhere in the repository is not an update of this skill.
    seeded.commit({"README.md": "# Acme skills, now with more\n"})
    run = refresh_now(collection, RefreshOptions(mode=Mode.CHECK_ONLY))
    entry = only_entry(run)
    assert entry.update_available is False
    assert entry.upstream_sha == seeded.head()

    # A change under the skill's directory (not even its main file) is.
    seeded.commit({"skills/pdf/scripts/fill.py": "print('fill v2')\n"})
    entry = only_entry(refresh_now(collection, RefreshOptions(mode=Mode.CHECK_ONLY)))
    assert entry.update_available is True

    seeded.commit({"skills/pdf/SKILL.md": PDF_V2})
    run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    skill.refresh_from_db()
    assert skill.content == PDF_V2
    assert skill.description == "Read, fill, merge and sign PDFs."
    assert skill.content_sha == seeded.object_sha("skills/pdf")

    # Rolling the run back restores the content and the description.
    rollback_run(run, user=None)
    skill.refresh_from_db()
    assert skill.content == PDF
    assert skill.description == "Read, fill and merge PDF documents."


def test_a_pin_to_a_sha_keeps_its_content_and_reports_updates(collection, seeded):
    first = seeded.head()
    first_tree = seeded.object_sha("skills/pdf")
    seeded.commit({"skills/pdf/SKILL.md": PDF_V2})
    skill = ArtifactFactory(
        collection=collection, name="pdf", source=seeded.source("skills/pdf", ref=first)
    )
    refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    skill.refresh_from_db()
    # Read at the pin: the old description and content.
    assert skill.description == "Read, fill and merge PDF documents."
    assert skill.content_sha == first_tree and skill.resolved_sha == first
    run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    entry = only_entry(run)
    assert entry.update_available is True
    assert entry.reason == "pinned"
    skill.refresh_from_db()
    assert skill.resolved_sha == first  # sync never moves a pin


@pytest.mark.parametrize("annotated", [False, True])
def test_a_tag_is_a_pin(collection, seeded, annotated):
    seeded.tag("v1.0", annotated=annotated)
    tagged = seeded.head()
    seeded.commit({"skills/pdf/SKILL.md": PDF_V2})
    skill = ArtifactFactory(
        collection=collection, name="pdf", source=seeded.source("skills/pdf", ref="v1.0")
    )
    run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    skill.refresh_from_db()
    assert skill.resolved_sha == tagged
    assert skill.description == "Read, fill and merge PDF documents."
    assert only_entry(run).upstream_sha == seeded.head()  # measured against the default branch


def test_a_branch_ref_is_tracked(collection, seeded):
    seeded.git("checkout", "--quiet", "-b", "next")
    seeded.commit({"skills/pdf/SKILL.md": PDF_V2})
    seeded.git("checkout", "--quiet", "main")
    skill = ArtifactFactory(
        collection=collection, name="pdf", source=seeded.source("skills/pdf", ref="next")
    )
    run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    skill.refresh_from_db()
    assert skill.description == "Read, fill, merge and sign PDFs."
    assert skill.resolved_sha == seeded.head("next")
    assert only_entry(run).upstream_sha == seeded.head("next")


def test_a_removed_path_never_erases_and_reports_not_found(collection, seeded):
    skill = ArtifactFactory(collection=collection, name="pdf", source=seeded.source("skills/pdf"))
    refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    seeded.commit({"skills/pdf": None}, "remove the pdf skill")
    run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    entry = only_entry(run)
    assert entry.status == EntryStatus.ERROR
    assert entry.error_code == "upstream_not_found"
    skill.refresh_from_db()
    assert skill.description == "Read, fill and merge PDF documents."
    assert skill.content == PDF


def test_blank_upstream_values_never_erase_local_ones(collection, seeded):
    seeded.commit({"skills/pdf/SKILL.md": "---\nname: pdf\ndescription: ''\n---\n"})
    skill = ArtifactFactory(
        collection=collection, name="pdf", source=seeded.source("skills/pdf"), description="Mine"
    )
    refresh_now(collection, RefreshOptions())
    skill.refresh_from_db()
    assert skill.description == "Mine"


def test_missing_repository_ref_and_sha_are_entry_errors(collection, seeded, tmp_path_factory):
    missing_repo = "git+file://" + str(tmp_path_factory.mktemp("nothing") / "gone") + "//x"
    ArtifactFactory(collection=collection, name="gone", source=missing_repo)
    ArtifactFactory(
        collection=collection, name="noref", source=seeded.source("skills/pdf", ref="nope")
    )
    ArtifactFactory(
        collection=collection, name="nosha", source=seeded.source("skills/pdf", ref="f" * 40)
    )
    ArtifactFactory(collection=collection, name="ok", source=seeded.source("skills/pdf"))
    run = refresh_now(collection, RefreshOptions())
    entries = {e.artifact_key: e for e in run.entries.all()}
    assert entries["skill:gone"].error_code == "upstream_not_found"
    assert entries["skill:noref"].error_code == "upstream_not_found"
    assert entries["skill:nosha"].error_code == "upstream_not_found"
    assert entries["skill:ok"].status == EntryStatus.REFRESHED
    assert run.status == "partial"


def test_broken_frontmatter_is_invalid_metadata(collection, seeded):
    seeded.commit({"skills/bad/SKILL.md": "---\nname: [unclosed\n---\n"})
    ArtifactFactory(collection=collection, name="bad", source=seeded.source("skills/bad"))
    entry = only_entry(refresh_now(collection, RefreshOptions()))
    assert entry.error_code == "invalid_metadata"


def test_a_symlinked_main_file_pointing_out_of_the_tree_is_not_followed(collection, seeded):
    seeded.symlink("skills/evil/SKILL.md", "/etc/passwd")
    seeded.symlink("skills/escape", "../../..")
    ArtifactFactory(collection=collection, name="evil", source=seeded.source("skills/evil"))
    ArtifactFactory(collection=collection, name="escape", source=seeded.source("skills/escape/etc"))
    run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    entries = {e.artifact_key: e for e in run.entries.all()}
    assert entries["skill:evil"].error_code == "upstream_not_found"
    assert "symbolic link" in entries["skill:evil"].error_message
    assert entries["skill:escape"].error_code == "upstream_not_found"
    assert "root:" not in Artifact.objects.get(name="evil").content


def test_hosts_and_local_repositories_not_allowed_are_skipped_when_stored(
    collection, seeded, settings
):
    artifact = ArtifactFactory(
        collection=collection, name="pdf", source=seeded.source("skills/pdf")
    )
    settings.GIT_ALLOW_LOCAL = False
    Artifact.objects.filter(pk=artifact.pk).update(source=seeded.source("skills/pdf"))
    ArtifactFactory(
        collection=collection,
        name="remote",
        source="git+https://gitlab.example.com/acme/skills.git//skills/pdf",
    )
    run = refresh_now(collection, RefreshOptions())
    reasons = {e.artifact_key: (e.status, e.reason) for e in run.entries.all()}
    assert reasons == {
        "skill:pdf": (EntryStatus.SKIPPED, "unsupported_source"),
        "skill:remote": (EntryStatus.SKIPPED, "unsupported_source"),
    }


def test_a_warm_refresh_fetches_nothing(collection, seeded, settings):
    """The second run finds every object in the cache: only ls-remote talks to upstream."""
    ArtifactFactory(collection=collection, name="pdf", source=seeded.source("skills/pdf"))
    refresh_now(collection, RefreshOptions())
    cache_dirs = [p for p in settings.GIT_CACHE_DIR.iterdir() if p.suffix == ".git"]
    assert len(cache_dirs) == 1
    packs_before = sorted(p.name for p in (cache_dirs[0] / "objects" / "pack").iterdir())
    run = refresh_now(collection, RefreshOptions())
    assert only_entry(run).status == EntryStatus.UNCHANGED
    packs_after = sorted(p.name for p in (cache_dirs[0] / "objects" / "pack").iterdir())
    assert packs_after == packs_before
    # The cache directory is named by a hash of the URL, never by the URL.
    assert "acme" not in cache_dirs[0].name


def test_hooks_and_mcp_configs_are_read_as_json(collection, seeded):
    seeded.commit(
        {
            "hooks/hooks.json": '{"description": "Format files after every edit.", "hooks": {}}',
            ".mcp.json": '{"description": "Issue tracker tools.", "mcpServers": {}}',
        }
    )
    hook = ArtifactFactory(
        collection=collection, type="hook", name="format", source=seeded.source("hooks/hooks.json")
    )
    mcp = ArtifactFactory(
        collection=collection, type="mcp", name="tracker", source=seeded.source(".mcp.json")
    )
    run = refresh_now(collection, RefreshOptions())
    assert run.status == "completed", list(run.entries.values("error_code", "error_message"))
    hook.refresh_from_db()
    mcp.refresh_from_db()
    assert hook.description == "Format files after every edit."
    assert mcp.description == "Issue tracker tools."


class CountingGit(Git):
    """The real runner, counting the git commands by subcommand."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls: Counter[str] = Counter()

    def run(self, args, **kwargs) -> bytes:
        self.calls[args[0]] += 1
        return super().run(args, **kwargs)


def test_one_ls_remote_and_one_fetch_per_repository_however_many_artifacts(
    collection, seeded, settings
):
    seeded.commit(
        {f"skills/s{i}/SKILL.md": f"---\nname: s{i}\n---\nSkill {i}.\n" for i in range(5)}
    )
    for i in range(5):
        ArtifactFactory(collection=collection, name=f"s{i}", source=seeded.source(f"skills/s{i}"))
    ArtifactFactory(
        collection=collection,
        type="agent",
        name="reviewer",
        source=seeded.source("agents/reviewer.md"),
    )
    git = CountingGit(allow_local=True, home=settings.GIT_CACHE_DIR / "home")
    engine = Refresher(
        providers=[NoGitHub(), GitProvider(git, settings.GIT_CACHE_DIR)], concurrency=4
    )
    run = engine.refresh(collection, RefreshOptions(mode=Mode.SYNC))
    assert run.status == "completed" and run.total == 6
    assert git.calls["ls-remote"] == 1
    assert git.calls["fetch"] == 2  # the commit (trees, no blobs), then the six main files
    # One to read, one listing the files (with their modes) of the new content for its review.
    assert git.calls["ls-tree"] == 2

    git.calls.clear()
    engine.refresh(collection, RefreshOptions(mode=Mode.SYNC))
    assert git.calls["ls-remote"] == 1 and git.calls["fetch"] == 0


class NoGitHub:
    """A GitHub provider that must not be used: these artifacts are all git sources."""

    kinds = frozenset({SourceKind.GITHUB})
    rate_limit = None
    used_credentials: frozenset = frozenset()

    def read(self, targets, context):
        raise AssertionError("GitHub was asked about a git source")

    def browser(self, context):
        raise AssertionError("GitHub was asked about a git source")

    def unavailable(self, access):
        return None

    def retry_after(self):
        return None

    def close(self) -> None:
        pass
