"""`manage.py refresh_collection` against the loopback GitHub fake and the real database."""

import io
import json
import logging
import os
import subprocess
import sys
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from collections_app.models import Artifact, ArtifactType
from refresher.models import RefreshRun, RunStatus
from tests.factories import ArtifactFactory, CollectionFactory
from tests.upstream import PDF_DESCRIPTION, RESPONSE_KEYS, add_skills_repo, fixture_text

pytestmark = pytest.mark.django_db


class TerminalIO(io.StringIO):
    """A captured stream that says it is a terminal, to exercise the rich output."""

    def isatty(self) -> bool:
        return True


def run_command(
    *args: str, stdout: io.StringIO | None = None, stderr: io.StringIO | None = None
) -> tuple[int, str, str]:
    """Run the command like a shell would see it: (exit status, stdout, stderr).

    A CommandError is reported as `manage.py` does (BaseCommand.run_from_argv): its message on
    stderr, its returncode as the exit status. test_exit_status_from_a_real_process checks that.
    """
    out, err = stdout or io.StringIO(), stderr or io.StringIO()
    try:
        call_command("refresh_collection", *args, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        code = exc.returncode
    else:
        code = 0
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def upstream(github):
    add_skills_repo(
        github,
        extra={
            "skills/pdf/scripts/extract.py": "print('text')\n",
            "commands/deploy.md": fixture_text("command-deploy.md"),
        },
    )
    return github


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user, name="Team skills")


@pytest.fixture
def pdf(collection):
    return ArtifactFactory(
        collection=collection,
        name="pdf",
        source="acme/skills/skills/pdf",
        description="An old description",
        license="MIT",
        topics=["docs", "pdf"],
        author="acme",
        title="pdf",
    )


def test_refresh_by_id_applies_metadata_and_prints_every_change_in_full(upstream, pdf):
    code, out, err = run_command(str(pdf.collection_id))

    assert code == 0, err
    pdf.refresh_from_db()
    assert pdf.description == PDF_DESCRIPTION
    assert f'description: "An old description" -> "{PDF_DESCRIPTION}"' in out
    run = RefreshRun.objects.get()
    assert f"run id             {run.pk}" in out
    assert run.status == RunStatus.COMPLETED and run.requested_by is None


def test_refresh_by_owner_and_name(upstream, pdf):
    code, out, _ = run_command("alice/Team skills")

    assert code == 0
    assert out.startswith("Refresh of alice/Team skills (metadata_only)\n")
    assert RefreshRun.objects.get().collection_id == pdf.collection_id


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("alice/No such collection", "No collection named 'No such collection' owned by 'alice'"),
        ("bob/Team skills", "No collection named 'Team skills' owned by 'bob'"),
        (str(uuid.UUID(int=7)), f"No collection with id {uuid.UUID(int=7)}"),
        ("team-skills", "neither a collection id (UUID) nor 'owner_username/collection name'"),
    ],
)
def test_an_unknown_collection_exits_1_with_a_message(collection, ref, message):
    code, out, err = run_command(ref)

    assert code == 1
    assert message in err
    assert out == ""
    assert not RefreshRun.objects.exists()


def test_an_unknown_field_exits_1_naming_the_valid_fields(collection):
    code, _, err = run_command(str(collection.pk), "--fields", "description,colour")

    assert code == 1
    assert "--fields: unknown field(s) colour; valid fields are " in err
    assert "description, title, author, license, topics" in err
    assert not RefreshRun.objects.exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--type", "plugin", '--type: "plugin" is not a valid choice. (choose from skill, '),
        ("--mode", "everything", '--mode: "everything" is not a valid choice. (choose from '),
    ],
)
def test_an_unknown_type_or_mode_exits_1(collection, option, value, message):
    code, _, err = run_command(str(collection.pk), option, value)

    assert code == 1
    assert message in err
    assert not RefreshRun.objects.exists()


def test_an_unknown_option_is_refused_by_the_parser(collection):
    with pytest.raises(CommandError, match="unrecognized arguments: --colour"):
        call_command("refresh_collection", str(collection.pk), "--colour", stdout=io.StringIO())


def test_dry_run_reports_changes_and_writes_nothing(upstream, pdf):
    before = Artifact.objects.filter(pk=pdf.pk).values().get()

    code, out, _ = run_command(str(pdf.collection_id), "--dry-run")

    assert code == 0
    assert Artifact.objects.filter(pk=pdf.pk).values().get() == before
    assert "Refresh of alice/Team skills (metadata_only, dry run)" in out
    assert "  skill:pdf (refreshed, dry_run)" in out
    assert f'description: "An old description" -> "{PDF_DESCRIPTION}"  (not applied)' in out
    assert RefreshRun.objects.get().dry_run is True


def test_check_only_exits_2_when_upstream_moved_and_writes_nothing(upstream, pdf):
    # Metadata already matches upstream; only the files under the skill moved on.
    pdf.description = PDF_DESCRIPTION
    pdf.content_sha = upstream.tree_sha("acme/skills", "skills/pdf")
    pdf.save()
    head = upstream.commit("acme/skills", files={"skills/pdf/scripts/extract.py": "print(2)\n"})
    before = Artifact.objects.filter(pk=pdf.pk).values().get()

    code, out, _ = run_command(str(pdf.collection_id), "--mode", "check_only")

    assert code == 2
    assert Artifact.objects.filter(pk=pdf.pk).values().get() == before
    assert "Updates available\n" in out
    assert f"  skill:pdf: (none) -> {head}" in out
    assert "Changes" not in out


def test_check_only_exits_2_for_a_metadata_change_alone(upstream, pdf):
    pdf.content_sha = upstream.tree_sha("acme/skills", "skills/pdf")
    pdf.save()

    code, out, _ = run_command(str(pdf.collection_id), "--mode", "check_only")

    assert code == 2
    assert "  skill:pdf (refreshed, check_only)" in out
    pdf.refresh_from_db()
    assert pdf.description == "An old description"


def test_check_only_exits_0_when_there_is_nothing_to_report(upstream, pdf):
    pdf.description = PDF_DESCRIPTION
    pdf.content_sha = upstream.tree_sha("acme/skills", "skills/pdf")
    pdf.save()

    code, out, _ = run_command(str(pdf.collection_id), "--mode", "check_only")

    assert code == 0
    assert "  unchanged          1\n" in out
    assert "Changes" not in out and "Updates available" not in out and "Errors" not in out


def test_an_entry_error_exits_1_and_is_listed_under_errors(upstream, pdf):
    ArtifactFactory(collection=pdf.collection, name="gone", source="acme/skills/skills/gone")

    code, out, _ = run_command(str(pdf.collection_id))

    assert code == 1
    errors = out[out.index("\nErrors\n") :]
    assert "  skill:gone: upstream_not_found: " in errors
    run = RefreshRun.objects.get()
    assert (run.status, run.error, run.refreshed) == (RunStatus.PARTIAL, 1, 1)
    pdf.refresh_from_db()
    assert pdf.description == PDF_DESCRIPTION  # the good artifact is still applied


def test_json_prints_only_the_refresh_response(upstream, pdf):
    code, out, _ = run_command(str(pdf.collection_id), "--json")

    assert code == 0
    body = json.loads(out)
    assert set(body) >= RESPONSE_KEYS
    assert body["run_id"] == str(RefreshRun.objects.get().pk)
    counts = {"total": 1, "refreshed": 1, "unchanged": 0, "skipped": 0, "error": 0}
    counts["updates_available"] = 0
    assert {key: body["summary"][key] for key in counts} == counts
    [entry] = body["entries"]
    assert entry["artifact"] == "skill:pdf"
    assert entry["changes"]["description"] == {
        "old": "An old description",
        "new": PDF_DESCRIPTION,
        "applied": True,
    }


def test_type_and_name_filters_choose_the_artifacts(upstream, pdf):
    collection = pdf.collection
    ArtifactFactory(collection=collection, name="changelog", source="acme/skills/skills/changelog")
    ArtifactFactory(
        collection=collection,
        type=ArtifactType.COMMAND,
        name="deploy",
        source="acme/skills/commands/deploy.md",
    )

    code, out, _ = run_command(str(collection.pk), "--type", "skill", "--name", "p*", "--json")

    assert code == 0
    body = json.loads(out)
    assert [e["artifact"] for e in body["entries"]] == ["skill:pdf"]
    assert body["artifact_filter"] == {"type": "skill", "name": "p*"}

    _, out, _ = run_command(str(collection.pk), "--type", "command", "--fields", "DESCRIPTION")
    assert "  total              1\n" in out
    assert "  command:deploy (refreshed, no_content_sha)\n" in out
    assert "    description: " in out and "    author: " not in out


def test_plain_output_lists_progress_summary_and_sections(upstream, pdf):
    ArtifactFactory(collection=pdf.collection, name="local", source="./skills/local")

    code, out, err = run_command(str(pdf.collection_id), "--fields", "description")

    assert code == 0
    assert err.splitlines()[-1] == "refreshed 2/2"
    run = RefreshRun.objects.get()
    summary = "\n".join(
        [
            "Refresh of alice/Team skills (metadata_only)",
            "  total              2",
            "  refreshed          1",
            "  unchanged          0",
            "  skipped            1",
            "  error              0",
            "  updates available  0",
            "  status             completed",
            f"  duration           {run.duration_ms} ms",
            f"  run id             {run.pk}",
            "",
            "Changes",
            "  skill:pdf (refreshed, no_content_sha)",
            f'    description: "An old description" -> "{PDF_DESCRIPTION}"',
            "",
            "Skipped",
            "  skill:local: no_upstream",
            "",
        ]
    )
    assert out == summary


def test_sync_reports_the_content_sha_not_the_text(upstream, pdf):
    code, out, _ = run_command(str(pdf.collection_id), "--mode", "sync", "--fields", "title")

    assert code == 0
    tree = upstream.tree_sha("acme/skills", "skills/pdf")
    head = upstream.head("acme/skills")
    assert f"    content.content_sha: null -> {json.dumps(tree)}" in out
    assert f"    content.resolved_sha: null -> {json.dumps(head)}" in out
    assert "PDF toolkit" not in out
    pdf.refresh_from_db()
    assert pdf.content_sha == tree and "PDF toolkit" in pdf.content


def test_a_terminal_gets_rich_tables(upstream, pdf):
    ArtifactFactory(collection=pdf.collection, name="gone", source="acme/skills/skills/gone")

    code, out, _ = run_command(str(pdf.collection_id), stdout=TerminalIO())

    assert code == 1
    for heading in ("Refresh of alice/Team skills", "run id", "Changes", "Errors"):
        assert heading in out
    assert "upstream_not_found" in out


def test_a_collection_being_refreshed_exits_1(upstream, pdf):
    now = timezone.now()
    busy = RefreshRun.objects.create(
        collection=pdf.collection, status=RunStatus.RUNNING, started_at=now, heartbeat_at=now
    )

    code, out, err = run_command(str(pdf.collection_id))

    assert code == 1
    assert f"already being refreshed. (run {busy.pk})" in err
    assert out == ""


def test_an_unreachable_github_exits_1(upstream, pdf):
    upstream.fail(r".*", status=503)

    code, out, err = run_command(str(pdf.collection_id), "--json")

    assert code == 1
    assert "GitHub could not be read for any artifact" in err
    assert out == ""
    assert RefreshRun.objects.get().status == RunStatus.FAILED


# -- exit status through CommandError, and --verbosity 0 -----------------------------------------


def test_a_failed_entry_is_a_command_error_with_returncode_1(upstream, pdf):
    ArtifactFactory(collection=pdf.collection, name="gone", source="acme/skills/skills/gone")

    with pytest.raises(CommandError) as caught:
        call_command("refresh_collection", str(pdf.collection_id), stdout=io.StringIO())

    assert caught.value.returncode == 1
    assert str(caught.value) == "1 artifact could not be refreshed."


def test_a_check_that_found_something_is_a_command_error_with_returncode_2(upstream, pdf):
    with pytest.raises(CommandError) as caught:
        call_command(
            "refresh_collection",
            str(pdf.collection_id),
            "--mode",
            "check_only",
            stdout=io.StringIO(),
        )

    assert caught.value.returncode == 2
    assert str(caught.value) == "The check found changes or updates for 1 artifact."


def test_a_bad_argument_is_a_command_error_with_returncode_1(collection):
    with pytest.raises(CommandError) as caught:
        call_command("refresh_collection", "alice/Nothing", stdout=io.StringIO())

    assert caught.value.returncode == 1
    assert str(caught.value) == "No collection named 'Nothing' owned by 'alice'."


def test_a_run_that_failed_as_a_whole_names_its_error(upstream, pdf):
    upstream.fail(r".*", status=503)

    code, _, err = run_command(str(pdf.collection_id), "--verbosity", "0")

    assert code == 1
    assert err.startswith("CommandError: GitHub could not be read for any artifact")


def test_verbosity_0_prints_nothing_when_all_went_well(upstream, pdf):
    code, out, err = run_command(str(pdf.collection_id), "--verbosity", "0")

    assert (code, out, err) == (0, "", "")
    pdf.refresh_from_db()
    assert pdf.description == PDF_DESCRIPTION  # quiet, but the refresh did its work


def test_verbosity_0_prints_only_the_errors_on_stderr(upstream, pdf):
    ArtifactFactory(collection=pdf.collection, name="gone", source="acme/skills/skills/gone")

    code, out, err = run_command(str(pdf.collection_id), "--verbosity", "0")

    assert code == 1
    assert out == ""
    [entry_error, reason] = err.splitlines()
    assert entry_error.startswith("skill:gone: upstream_not_found: ")
    assert reason == "CommandError: 1 artifact could not be refreshed."


def test_verbosity_0_still_prints_the_json_asked_for(upstream, pdf):
    code, out, err = run_command(str(pdf.collection_id), "--verbosity", "0", "--json")

    assert (code, err) == (0, "")
    assert json.loads(out)["summary"]["refreshed"] == 1


def test_verbosity_0_on_a_terminal_draws_no_progress_bar(upstream, pdf):
    err = TerminalIO()
    code, out, _ = run_command(str(pdf.collection_id), "-v", "0", stdout=TerminalIO(), stderr=err)

    assert (code, out, err.getvalue()) == (0, "", "")


def test_a_terminal_gets_a_progress_bar_through_the_commands_own_stderr(upstream, pdf):
    err = TerminalIO()

    code, out, _ = run_command(str(pdf.collection_id), stdout=TerminalIO(), stderr=err)

    assert code == 0
    assert "Refreshing alice/Team skills" in err.getvalue()
    # Written as rich wrote it: Django's wrapper adds no newline after each piece of the bar.
    assert "Refreshing alice/Team skills\n" not in err.getvalue()
    assert "run id" in out


@pytest.mark.django_db(transaction=True)
def test_exit_status_from_a_real_process(upstream, pdf):
    """`manage.py` turns the CommandError into the exit status and one line on stderr."""
    from tests.refresher.test_background import ROOT, database_url

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "GITHUB_API_URL": upstream.url,
        "GITHUB_TOKEN": upstream.token,
    }

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "manage.py", "refresh_collection", *args]
        return subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    found = manage(str(pdf.collection_id), "--mode", "check_only", "--verbosity", "0")
    assert (found.returncode, found.stdout) == (2, ""), found.stderr[-2000:]
    assert found.stderr == "CommandError: The check found changes or updates for 1 artifact.\n"

    unknown = manage("team-skills")
    assert unknown.returncode == 1
    assert "CommandError: 'team-skills' is neither a collection id" in unknown.stderr


def test_verbosity_0_holds_back_the_runs_info_log_line(upstream, pdf, caplog):
    caplog.set_level(logging.INFO, logger="refresher")

    run_command(str(pdf.collection_id), "--verbosity", "0")
    assert not [r for r in caplog.records if r.name == "refresher.engine"]
    assert logging.getLogger("refresher").level == logging.INFO  # restored afterwards

    run_command(str(pdf.collection_id))
    assert [r.levelname for r in caplog.records if r.name == "refresher.engine"] == ["INFO"]


@pytest.mark.parametrize("command", ["refresh_collection", "review_updates"])
def test_a_usage_error_exits_1_not_2_which_means_news(tmp_path, command):
    """Exit status 2 says a check found updates or updates wait; argparse's own 2 for a typo
    must not read as that."""
    from tests.ops.procs import manage, site_env

    result = manage(command, "some-collection", "--colour", env=site_env(tmp_path))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "error: unrecognized arguments: --colour" in result.stderr
