"""The refresh engine against the database and a GitHub-compatible server on loopback."""

import pytest
from django.utils import timezone

from collections_app.models import Artifact
from refresher.exceptions import UpstreamUnavailable
from refresher.models import EntryStatus, HttpCacheEntry, Mode, RefreshEntry, RefreshRun
from refresher.options import ArtifactFilter, RefreshOptions
from refresher.service import refresh_now
from tests.conftest import READ_PLANS
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import PDF_DESCRIPTION, fixture_text

pytestmark = pytest.mark.django_db


@pytest.fixture(params=READ_PLANS)
def read_plan(request) -> str:
    """Every engine test runs through the REST plan and through the GraphQL plan."""
    return request.param


SKILL = fixture_text("skill-pdf.md")


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user)


@pytest.fixture
def repo(github):
    github.add_repo(
        "acme/skills",
        files={
            "skills/pdf/SKILL.md": SKILL,
            "skills/pdf/scripts/extract.py": "print('text')\n",
            "skills/other/SKILL.md": fixture_text("skill-spdx.md"),
            "README.md": "# Skills\n",
        },
        topics=["pdf", "ai", "docs"],
        license_spdx="MIT",
    )
    return "acme/skills"


def entry_of(run: RefreshRun) -> RefreshEntry:
    return run.entries.get()


def test_metadata_refresh_applies_derived_fields(collection, repo):
    artifact = ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    run = refresh_now(collection, RefreshOptions())
    assert run.status == "completed"
    artifact.refresh_from_db()
    assert artifact.description == PDF_DESCRIPTION
    assert artifact.title == "pdf"
    assert artifact.author == "acme"
    # The frontmatter's license is prose, not an SPDX id: the repository's license wins.
    assert artifact.license == "MIT"
    assert artifact.topics == ["ai", "docs", "pdf"]
    assert artifact.last_refreshed_at is not None
    assert artifact.content == ""  # only sync touches content
    entry = entry_of(run)
    assert entry.status == EntryStatus.REFRESHED and entry.applied
    assert entry.changes["license"] == {"old": "", "new": "MIT", "applied": True}


def test_second_refresh_reports_unchanged(collection, repo):
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    refresh_now(collection, RefreshOptions())
    run = refresh_now(collection, RefreshOptions())
    assert entry_of(run).status == EntryStatus.UNCHANGED
    assert run.unchanged == 1 and run.refreshed == 0


def test_refresh_never_touches_tags(collection, repo):
    artifact = ArtifactFactory(
        collection=collection, name="pdf", source="acme/skills/skills/pdf", tags=["mine"]
    )
    refresh_now(collection, RefreshOptions())
    artifact.refresh_from_db()
    assert artifact.tags == ["mine"]
    assert "ai" not in artifact.tags


class TestNeverErase:
    LOCAL = {
        "description": "Our own words",
        "title": "PDF",
        "author": "Someone",
        "license": "Apache-2.0",
        "topics": ["x"],
    }

    def make(self, collection, source):
        return ArtifactFactory(collection=collection, name="pdf", source=source, **self.LOCAL)

    def assert_untouched(self, artifact):
        artifact.refresh_from_db()
        for field, value in self.LOCAL.items():
            assert getattr(artifact, field) == value

    def test_refresh_never_erases_a_local_value_when_upstream_is_blank(self, github, collection):
        github.add_repo(
            "acme/bare",
            files={"SKILL.md": "---\nname: ''\ndescription: '   '\n---\n"},
            topics=[],
            license_spdx=None,
        )
        github.set_repo("acme/bare", topics=[])
        artifact = self.make(collection, "acme/bare")
        run = refresh_now(collection, RefreshOptions())
        entry = entry_of(run)
        # Only the author (the owner's login) is known upstream; nothing blank replaced a value.
        assert set(entry.changes) == {"author"}
        artifact.refresh_from_db()
        assert artifact.description == "Our own words"
        assert artifact.license == "Apache-2.0"
        assert artifact.topics == ["x"]
        assert artifact.title == "PDF"

    def test_missing_repository_changes_nothing(self, github, collection):
        artifact = self.make(collection, "acme/gone/skills/pdf")
        run = refresh_now(collection, RefreshOptions(), deadline_seconds=None)
        entry = entry_of(run)
        assert entry.status == EntryStatus.ERROR
        assert entry.error_code == "upstream_not_found"
        assert run.status == "failed"
        self.assert_untouched(artifact)

    def test_missing_file_changes_nothing(self, collection, repo):
        artifact = self.make(collection, "acme/skills/skills/nothing-here")
        run = refresh_now(collection, RefreshOptions())
        entry = entry_of(run)
        assert entry.error_code == "upstream_not_found"
        assert "skills/nothing-here" in entry.error_message
        self.assert_untouched(artifact)

    def test_directory_without_main_file_changes_nothing(self, github, collection, repo):
        artifact = self.make(collection, "acme/skills/skills/pdf/scripts")
        entry = entry_of(refresh_now(collection, RefreshOptions()))
        assert entry.error_code == "upstream_not_found"
        assert "SKILL.md" in entry.error_message
        self.assert_untouched(artifact)

    def test_rate_limit_changes_nothing(self, github, collection, repo):
        artifact = self.make(collection, "acme/skills/skills/pdf")
        # Both of the token's quotas: REST's core and GraphQL's points.
        github.rate_limit_remaining = 0
        github.graphql_remaining = 0
        with pytest.raises(UpstreamUnavailable) as caught:
            refresh_now(collection, RefreshOptions())
        assert caught.value.retry_after is not None and caught.value.retry_after > 0
        run = RefreshRun.objects.get()
        assert run.status == "failed"
        assert entry_of(run).error_code == "rate_limited"
        self.assert_untouched(artifact)

    @pytest.mark.allow_rest_fallback  # GraphQL's queries time out, on purpose
    def test_timeout_changes_nothing(self, github, settings, collection, repo):
        settings.REFRESH_HTTP_TIMEOUT = 0.2
        settings.REFRESH_MAX_RETRIES = 0
        # GraphQL's queries time out and REST, which reads what they could not, meets the same.
        github.delay(r"/git/blobs/|/graphql", 1.0)
        artifact = self.make(collection, "acme/skills/skills/pdf")
        with pytest.raises(UpstreamUnavailable):
            refresh_now(collection, RefreshOptions())
        entry = entry_of(RefreshRun.objects.get())
        assert entry.status == EntryStatus.ERROR
        assert entry.error_code == "upstream_unavailable"
        self.assert_untouched(artifact)

    def test_broken_frontmatter_is_an_entry_error_not_a_wipe(self, github, collection):
        github.add_repo("acme/broken", files={"SKILL.md": fixture_text("skill-broken.md")})
        artifact = self.make(collection, "acme/broken")
        entry = entry_of(refresh_now(collection, RefreshOptions()))
        assert entry.error_code == "invalid_metadata"
        assert "line" in entry.error_message
        self.assert_untouched(artifact)

    def test_oversized_file_is_file_too_large(self, github, collection):
        big = "---\ndescription: big\n---\n" + "x" * (1024 * 1024 + 10)
        github.add_repo("acme/big", files={"SKILL.md": big})
        artifact = self.make(collection, "acme/big")
        entry = entry_of(refresh_now(collection, RefreshOptions()))
        assert entry.error_code == "file_too_large"
        self.assert_untouched(artifact)


@pytest.mark.parametrize(
    ("fixture", "kind", "path", "expected"),
    [
        (
            "skill-spdx.md",
            "skill",
            "SKILL.md",
            {
                "description": "Turns a list of merged pull requests into a tidy, grouped "
                "changelog entry.",
                "title": "Changelog Writer",
                "author": "Release Tools Team",
                "license": "Apache-2.0",
            },
        ),
        (
            "skill-no-frontmatter.md",
            "skill",
            "SKILL.md",
            {
                "description": "Writes conventional commit messages from a staged diff, keeping "
                "the subject under seventy-two characters and explaining the why in the body.",
                "title": "",
                "author": "acme",
                "license": "MIT",
            },
        ),
        (
            "agent-reviewer.md",
            "agent",
            "agents/code-reviewer.md",
            {
                "description": "Reviews a change for correctness, security and readability. "
                "Use proactively right after code is written or modified.",
                "title": "code-reviewer",
                "author": "acme",
                "license": "MIT",
            },
        ),
        (
            "command-deploy.md",
            "command",
            "commands/deploy.md",
            {
                "description": "Deploy the current branch to the staging environment",
                "title": "",
                "author": "acme",
                "license": "MIT",
            },
        ),
        (
            "mcp-server.json",
            "mcp",
            "mcp/tracker.json",
            {
                "description": "Query and update tickets in the team's issue tracker.",
                "title": "issue-tracker",
                "author": "acme",
                "license": "MIT",
            },
        ),
    ],
)
def test_field_derivation_on_real_world_shapes(github, collection, fixture, kind, path, expected):
    github.add_repo("acme/tools", files={path: fixture_text(fixture)}, topics=["tools"])
    source = "acme/tools" if path == "SKILL.md" else f"acme/tools/{path}"
    artifact = ArtifactFactory(collection=collection, type=kind, name="a", source=source)
    run = refresh_now(collection, RefreshOptions())
    assert run.status == "completed", list(run.entries.values("error_code", "error_message"))
    artifact.refresh_from_db()
    for field, value in expected.items():
        assert getattr(artifact, field) == value, field
    assert artifact.topics == ["tools"]


def test_a_blob_link_to_a_skill_md_reads_that_file(github, collection, repo):
    artifact = ArtifactFactory(
        collection=collection,
        name="pdf",
        source="https://github.com/acme/skills/blob/main/skills/pdf/SKILL.md",
    )
    refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    artifact.refresh_from_db()
    assert artifact.description == PDF_DESCRIPTION
    assert artifact.content_sha == github.tree_sha(repo, "skills/pdf/SKILL.md")


def test_command_directory_reads_COMMAND_md_then_README(github, collection):
    github.add_repo(
        "acme/cmds",
        files={
            "commands/a/COMMAND.md": "---\ndescription: from COMMAND.md\n---\n",
            "commands/a/README.md": "---\ndescription: from README\n---\n",
            "commands/b/README.md": "---\ndescription: from README\n---\n",
        },
    )
    a = ArtifactFactory(
        collection=collection, type="command", name="a", source="acme/cmds/commands/a"
    )
    b = ArtifactFactory(
        collection=collection, type="command", name="b", source="acme/cmds/commands/b"
    )
    refresh_now(collection, RefreshOptions())
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.description, b.description) == ("from COMMAND.md", "from README")


def test_locked_fields_are_reported_but_never_written(collection, repo):
    artifact = ArtifactFactory(
        collection=collection,
        name="pdf",
        source="acme/skills/skills/pdf",
        description="Ours",
        title="pdf",
        author="acme",
        license="MIT",
        topics=["ai", "docs", "pdf"],
        locked_fields=["description"],
    )
    run = refresh_now(collection, RefreshOptions())
    entry = entry_of(run)
    assert entry.changes == {
        "description": {"old": "Ours", "new": PDF_DESCRIPTION, "applied": False}
    }
    # A difference in a locked field alone does not make the entry refreshed.
    assert entry.status == EntryStatus.UNCHANGED
    assert entry.reason == "locked"
    assert not entry.applied
    artifact.refresh_from_db()
    assert artifact.description == "Ours"


def test_fields_whitelist_limits_what_is_compared_and_written(collection, repo):
    artifact = ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    run = refresh_now(collection, RefreshOptions(fields=("license",)))
    assert set(entry_of(run).changes) == {"license"}
    artifact.refresh_from_db()
    assert artifact.license == "MIT"
    assert artifact.description == "" and artifact.topics == []


def test_comparison_rules_strip_casefold_and_sets(collection, repo):
    ArtifactFactory(
        collection=collection,
        name="pdf",
        source="acme/skills/skills/pdf",
        description=f"  {PDF_DESCRIPTION}\n",
        title="pdf",
        author="acme",
        license="mit",
        topics=["pdf", "docs", "ai"],
    )
    entry = entry_of(refresh_now(collection, RefreshOptions()))
    assert entry.status == EntryStatus.UNCHANGED
    assert entry.changes == {}


class TestModesWriteNothing:
    @pytest.mark.parametrize(
        "options",
        [
            RefreshOptions(dry_run=True),
            RefreshOptions(mode=Mode.CHECK_ONLY),
            RefreshOptions(mode=Mode.SYNC, dry_run=True),
        ],
        ids=["dry_run", "check_only", "sync_dry_run"],
    )
    def test_only_the_run_record_is_written(self, collection, repo, options):
        artifact = ArtifactFactory(
            collection=collection, name="pdf", source="acme/skills/skills/pdf"
        )
        before = Artifact.objects.values().get(pk=artifact.pk)
        run = refresh_now(collection, options)
        assert Artifact.objects.values().get(pk=artifact.pk) == before
        entry = entry_of(run)
        assert entry.status == EntryStatus.REFRESHED
        assert not entry.applied
        assert all(not c["applied"] for c in entry.changes.values())
        assert entry.reason == ("dry_run" if options.dry_run else "check_only")
        assert RefreshRun.objects.count() == 1


class TestUpdateDetection:
    def synced(self, collection, source="acme/skills/skills/pdf"):
        artifact = ArtifactFactory(collection=collection, name="pdf", source=source)
        refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
        artifact.refresh_from_db()
        return artifact

    def test_sync_records_content_and_shas(self, github, collection, repo):
        artifact = self.synced(collection)
        assert artifact.content == SKILL
        assert artifact.resolved_sha == github.head(repo)
        assert artifact.content_sha == github.tree_sha(repo, "skills/pdf")

    def test_a_commit_elsewhere_in_the_repository_is_not_an_update(self, github, collection, repo):
        artifact = self.synced(collection)
        github.commit(repo, files={"README.md": "# Changed\n", "skills/other/x.md": "x"})
        entry = entry_of(refresh_now(collection, RefreshOptions(mode=Mode.CHECK_ONLY)))
        assert entry.update_available is False
        assert entry.upstream_sha == github.head(repo) != artifact.resolved_sha

    def test_sync_leaves_an_artifact_alone_after_a_commit_elsewhere(self, github, collection, repo):
        artifact = self.synced(collection)
        github.commit(repo, files={"README.md": "# Changed\n"})
        entry = entry_of(refresh_now(collection, RefreshOptions(mode=Mode.SYNC)))
        assert entry.status == EntryStatus.UNCHANGED
        assert entry.changes == {}
        fresh = Artifact.objects.get(pk=artifact.pk)
        assert (fresh.resolved_sha, fresh.content_sha) == (
            artifact.resolved_sha,
            artifact.content_sha,
        )

    def test_a_commit_under_the_path_is_an_update_and_sync_applies_it(
        self, github, collection, repo
    ):
        artifact = self.synced(collection)
        github.commit(repo, files={"skills/pdf/scripts/extract.py": "print('v2')\n"})
        check = entry_of(refresh_now(collection, RefreshOptions(mode=Mode.CHECK_ONLY)))
        assert check.update_available is True
        artifact.refresh_from_db()
        assert artifact.resolved_sha != github.head(repo)

        run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
        entry = entry_of(run)
        assert entry.changes["content"]["applied"] is True
        artifact.refresh_from_db()
        assert artifact.resolved_sha == github.head(repo)
        assert artifact.content_sha == github.tree_sha(repo, "skills/pdf")

    def test_metadata_only_never_moves_content(self, github, collection, repo):
        artifact = self.synced(collection)
        github.commit(repo, files={"skills/pdf/SKILL.md": SKILL + "\nMore.\n"})
        refresh_now(collection, RefreshOptions())
        fresh = Artifact.objects.get(pk=artifact.pk)
        assert (fresh.content, fresh.resolved_sha, fresh.content_sha) == (
            artifact.content,
            artifact.resolved_sha,
            artifact.content_sha,
        )

    def test_unknown_without_a_stored_content_sha(self, collection, repo):
        ArtifactFactory(
            collection=collection, name="pdf", source="acme/skills/skills/pdf", license="MIT"
        )
        # Only the license is compared and it matches, so the reason is the unknown update.
        options = RefreshOptions(mode=Mode.CHECK_ONLY, fields=("license",))
        entry = entry_of(refresh_now(collection, options))
        assert entry.update_available is None
        assert entry.changes == {}
        assert entry.reason == "no_content_sha"

    @pytest.mark.parametrize("annotated", [False, True])
    def test_a_tag_pin_is_read_at_the_tag_and_sync_keeps_it(
        self, github, collection, repo, annotated
    ):
        pinned_commit = github.head(repo)
        github.tag(repo, "v1.0.0", annotated=annotated)
        artifact = self.synced(collection, source="acme/skills/skills/pdf@v1.0.0")
        assert artifact.resolved_sha == pinned_commit
        github.commit(repo, files={"skills/pdf/SKILL.md": "---\ndescription: v2 text\n---\n"})

        run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
        entry = entry_of(run)
        assert entry.update_available is True  # against the default branch
        assert entry.reason == "pinned"
        assert "content" not in entry.changes
        artifact.refresh_from_db()
        assert artifact.resolved_sha == pinned_commit
        assert artifact.description == PDF_DESCRIPTION  # metadata read at the pin

    def test_a_sha_pin_in_a_tree_url(self, github, collection, repo):
        pinned = github.head(repo)
        github.commit(repo, files={"skills/pdf/SKILL.md": "---\ndescription: later\n---\n"})
        artifact = self.synced(
            collection, source=f"https://github.com/acme/skills/tree/{pinned}/skills/pdf"
        )
        assert artifact.resolved_sha == pinned
        assert artifact.description == PDF_DESCRIPTION

    def test_a_branch_ref_is_tracked_not_pinned(self, github, collection, repo):
        github.commit(
            repo,
            files={"skills/pdf/SKILL.md": "---\ndescription: dev text\n---\n"},
            branch="develop",
        )
        artifact = self.synced(collection, source="acme/skills/skills/pdf@develop")
        assert artifact.description == "dev text"
        assert artifact.resolved_sha == github.head(repo, "develop")

    @pytest.mark.parametrize("read_plan", ["rest"])  # recursive trees are REST's
    def test_truncated_trees_fall_back_to_the_contents_api(self, github, collection, repo):
        github.truncate_trees(repo)
        artifact = self.synced(collection)
        assert artifact.description == PDF_DESCRIPTION
        assert artifact.content_sha == github.tree_sha(repo, "skills/pdf")
        assert github.count(kind="contents") >= 1


class TestSources:
    def test_local_empty_and_other_hosts_are_skipped_with_reasons(self, github, collection):
        ArtifactFactory(collection=collection, name="a", source="")
        ArtifactFactory(collection=collection, name="b", source="~/skills/b")
        ArtifactFactory(collection=collection, name="c", source="https://gitlab.com/acme/c")
        run = refresh_now(collection, RefreshOptions())
        reasons = dict(run.entries.values_list("artifact_key", "reason"))
        assert reasons == {
            "skill:a": "no_upstream",
            "skill:b": "no_upstream",
            "skill:c": "unsupported_source",
        }
        assert run.status == "completed" and run.skipped == 3
        assert github.requests == []

    def test_a_stored_invalid_source_is_an_invalid_source_error(self, github, collection):
        artifact = ArtifactFactory(collection=collection, name="a", source="acme/ok")
        Artifact.objects.filter(pk=artifact.pk).update(source="bad owner!/x")
        entry = entry_of(refresh_now(collection, RefreshOptions()))
        assert entry.error_code == "invalid_source"


def test_artifact_filter_narrows_the_run(collection, repo):
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    other = ArtifactFactory(collection=collection, name="other", source="acme/skills/skills/other")
    ArtifactFactory(
        collection=collection, type="agent", name="pdf-agent", source="acme/skills/x.md"
    )
    by_name = refresh_now(
        collection, RefreshOptions(artifact_filter=ArtifactFilter(type="skill", name="p*"))
    )
    assert list(by_name.entries.values_list("artifact_key", flat=True)) == ["skill:pdf"]
    by_id = refresh_now(collection, RefreshOptions(artifact_filter=ArtifactFilter(ids=(other.pk,))))
    assert list(by_id.entries.values_list("artifact_key", flat=True)) == ["skill:other"]


def test_an_artifact_edited_during_the_network_phase_is_not_overwritten(
    github, collection, repo, monkeypatch
):
    artifact = ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    from refresher.engine import Refresher

    real_read = Refresher._read

    def read_then_user_edits(self, targets, context):
        results = real_read(self, targets, context)
        # A user saves the artifact while the refresh is between reading and applying.
        Artifact.objects.filter(pk=artifact.pk).update(
            description="edited by a person", updated_at=timezone.now()
        )
        return results

    monkeypatch.setattr(Refresher, "_read", read_then_user_edits)
    run = refresh_now(collection, RefreshOptions())
    entry = entry_of(run)
    assert entry.status == EntryStatus.ERROR
    assert entry.error_code == "modified_during_refresh"
    assert not entry.applied
    artifact.refresh_from_db()
    assert artifact.description == "edited by a person"


def test_deadline_skips_what_was_not_read_and_applies_the_rest(github, collection, repo):
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    run = refresh_now(collection, RefreshOptions(), deadline_seconds=0.000001)
    entry = entry_of(run)
    assert entry.status == EntryStatus.SKIPPED
    assert entry.reason == "deadline_exceeded"


@pytest.mark.parametrize("read_plan", ["rest"])  # the GraphQL plan's cache: test_graphql_plan
def test_http_cache_keeps_immutable_answers(collection, repo):
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    refresh_now(collection, RefreshOptions())
    keys = set(HttpCacheEntry.objects.values_list("key", "immutable"))
    assert ("/repos/acme/skills", False) in keys
    assert any(k.startswith("/repos/acme/skills/git/blobs/") and imm for k, imm in keys)
    assert any("/git/trees/" in k and imm for k, imm in keys)


def test_a_renamed_repository_is_followed(github, collection, repo):
    artifact = ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    github.rename(repo, "acme/skill-library")
    run = refresh_now(collection, RefreshOptions(mode=Mode.SYNC))
    assert run.status == "completed", list(run.entries.values("error_message"))
    artifact.refresh_from_db()
    assert artifact.description == PDF_DESCRIPTION
    assert artifact.content_sha == github.tree_sha("acme/skill-library", "skills/pdf")


def test_the_deadline_also_cuts_reads_in_flight(github, settings, collection, repo):
    # The answers would come long after the deadline and well inside the read timeout: only
    # the deadline can end the reads, and the entry is skipped instead of read.
    settings.REFRESH_HTTP_TIMEOUT = 120.0
    settings.REFRESH_MAX_RETRIES = 3
    github.delay(r"/git/blobs/|/graphql", 60.0)
    ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
    run = refresh_now(collection, RefreshOptions(), deadline_seconds=0.5)
    entry = entry_of(run)
    assert (entry.status, entry.reason) == (EntryStatus.SKIPPED, "deadline_exceeded")
    # The read was sent, once, and given up while the fake was still answering it.
    assert len(github.in_flight_paths()) == 1


@pytest.mark.parametrize("read_plan", ["rest"])  # recursive trees are REST's
@pytest.mark.parametrize("n", [2, 12])
def test_truncated_trees_cost_the_same_queries_at_any_size(
    github, user, n, django_assert_num_queries
):
    files = {f"skills/s{i}/SKILL.md": f"---\ndescription: skill {i}\n---\n" for i in range(n)}
    github.add_repo("acme/huge", files=files)
    github.truncate_trees("acme/huge")
    collection = CollectionFactory(owner=user)
    for i in range(n):
        ArtifactFactory(collection=collection, name=f"s{i}", source=f"acme/huge/skills/s{i}")
    # 31 as for any refresh (test_query_count.py), plus the quota and cache reads of the wave
    # of directory listings.
    with django_assert_num_queries(33):
        run = refresh_now(collection, RefreshOptions())
    assert run.refreshed == n


def test_a_symbolic_link_is_not_followed(httpserver, settings, collection):
    """A main file that is a symlink (mode 120000) is reported, not read as its target path."""
    settings.GITHUB_API_URL = httpserver.url_for("").rstrip("/")
    settings.REFRESH_MAX_RETRIES = 0
    commit, tree = "c" * 40, "d" * 40
    httpserver.expect_request("/repos/acme/links").respond_with_json(
        {"full_name": "acme/links", "default_branch": "main", "owner": {"login": "acme"}}
    )
    httpserver.expect_request("/repos/acme/links/git/ref/heads/main").respond_with_json(
        {"ref": "refs/heads/main", "object": {"type": "commit", "sha": commit}}
    )
    httpserver.expect_request(f"/repos/acme/links/git/trees/{commit}").respond_with_json(
        {
            "sha": tree,
            "truncated": False,
            "tree": [
                {"path": "skills", "mode": "040000", "type": "tree", "sha": "1" * 40},
                {"path": "skills/x", "mode": "040000", "type": "tree", "sha": "2" * 40},
                {"path": "skills/x/SKILL.md", "mode": "120000", "type": "blob", "sha": "3" * 40},
            ],
        }
    )
    ArtifactFactory(collection=collection, name="x", source="acme/links/skills/x")
    entry = entry_of(refresh_now(collection, RefreshOptions()))
    assert entry.error_code == "upstream_not_found"
    assert "symbolic link" in entry.error_message


class TestHostileFiles:
    def test_deeply_nested_yaml_is_invalid_metadata_and_the_rest_still_applies(
        self, github, collection, repo
    ):
        deep = "---\ndescription: " + "[" * 3000 + "]" * 3000 + "\n---\n"
        github.commit(repo, files={"skills/deep/SKILL.md": deep})
        ArtifactFactory(collection=collection, name="deep", source="acme/skills/skills/deep")
        pdf = ArtifactFactory(collection=collection, name="pdf", source="acme/skills/skills/pdf")
        run = refresh_now(collection, RefreshOptions())
        assert run.status == "partial"
        codes = dict(run.entries.values_list("artifact_key", "error_code"))
        assert codes == {"skill:deep": "invalid_metadata", "skill:pdf": ""}
        pdf.refresh_from_db()
        assert pdf.description == PDF_DESCRIPTION

    def test_a_nul_escape_in_yaml_is_dropped_not_stored(self, github, collection):
        github.add_repo("acme/nul", files={"SKILL.md": '---\ndescription: "bad\\0value"\n---\n'})
        artifact = ArtifactFactory(collection=collection, name="n", source="acme/nul")
        run = refresh_now(collection, RefreshOptions())
        assert run.status == "completed"
        artifact.refresh_from_db()
        assert artifact.description == "badvalue"

    def test_an_empty_frontmatter_block_is_not_part_of_the_description(self, github, collection):
        github.add_repo("acme/empty", files={"SKILL.md": "---\n---\nReal first paragraph.\n"})
        artifact = ArtifactFactory(collection=collection, name="e", source="acme/empty")
        refresh_now(collection, RefreshOptions())
        artifact.refresh_from_db()
        assert artifact.description == "Real first paragraph."


def test_over_long_upstream_values_are_cut_to_their_column_once(github, collection):
    title, author = "T" * 400, "A" * 250
    github.add_repo(
        "acme/long", files={"SKILL.md": f"---\ntitle: {title}\nauthor: {author}\n---\nBody.\n"}
    )
    artifact = ArtifactFactory(collection=collection, name="l", source="acme/long")
    refresh_now(collection, RefreshOptions())
    artifact.refresh_from_db()
    assert (len(artifact.title), len(artifact.author)) == (300, 200)
    assert artifact.title.endswith("…")
    again = entry_of(refresh_now(collection, RefreshOptions()))
    assert again.status == EntryStatus.UNCHANGED


@pytest.mark.parametrize("read_plan", ["rest"])  # GraphQL's fallback: test_graphql_plan
def test_a_dead_upstream_stops_the_run_instead_of_retrying_every_artifact(
    github, settings, collection
):
    settings.REFRESH_MAX_RETRIES = 0
    settings.REFRESH_CONCURRENCY = 1  # one read at a time, so the order is known
    for i in range(6):
        github.add_repo(f"acme/r{i}", files={"SKILL.md": "---\ndescription: x\n---\n"})
        ArtifactFactory(collection=collection, name=f"s{i}", source=f"acme/r{i}")
    github.fail(r"^/repos/", status=502)
    with pytest.raises(UpstreamUnavailable):
        refresh_now(collection, RefreshOptions())
    # Three transient failures in a row open the breaker; the other repositories are not tried.
    assert github.count() == 3
    codes = set(RefreshEntry.objects.values_list("error_code", flat=True))
    assert codes == {"upstream_unavailable"}
