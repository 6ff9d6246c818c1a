"""What a reviewer reads: the bounded diff, the changed files, the commit list (pure builders)."""

from refresher.review.diff import (
    MAX_COMMITS,
    MAX_COMPARED_LINES,
    MAX_DIFF_CHARS,
    MAX_DIFF_LINES,
    MAX_FILES,
    MAX_MESSAGE_CHARS,
    changed_files,
    commit_summaries,
    unified_diff,
)
from refresher.review.findings import FileEntry


def test_a_small_change_gives_a_unified_diff_with_both_paths():
    diff = unified_diff(
        "a\nb\nc\n", "a\nB\nc\nd\n", old_path="skills/x/SKILL.md", new_path="skills/x/SKILL.md"
    )
    assert not diff.truncated
    assert diff.text.splitlines() == [
        "--- a/skills/x/SKILL.md",
        "+++ b/skills/x/SKILL.md",
        "@@ -1,3 +1,4 @@",
        " a",
        "-b",
        "+B",
        " c",
        "+d",
    ]


def test_identical_texts_give_no_diff():
    assert unified_diff("same\n", "same", old_path="p", new_path="p").text == ""


def test_a_long_diff_is_cut_by_lines_and_says_so():
    old = "".join(f"old {i}\n" for i in range(MAX_DIFF_LINES))
    new = "".join(f"new {i}\n" for i in range(MAX_DIFF_LINES))
    diff = unified_diff(old, new, old_path="p", new_path="p")
    assert diff.truncated
    assert len(diff.text.splitlines()) == MAX_DIFF_LINES


def test_a_wide_diff_is_cut_by_characters():
    old = "".join(f"{i} {'x' * 2000}\n" for i in range(300))
    new = "".join(f"{i} {'y' * 2000}\n" for i in range(300))
    diff = unified_diff(old, new, old_path="p", new_path="p")
    assert diff.truncated and len(diff.text) <= MAX_DIFF_CHARS + 1


def test_texts_too_long_to_compare_give_a_note_instead_of_taking_minutes():
    old = "line\n" * MAX_COMPARED_LINES
    new = "other\n" * 10
    diff = unified_diff(old, new, old_path="a.md", new_path="a.md")
    assert diff.truncated
    assert f"{MAX_COMPARED_LINES} lines before, 10 after" in diff.text


def entries(**shas: str) -> dict[str, FileEntry]:
    return {path.replace("__", "/"): FileEntry("100644", sha) for path, sha in shas.items()}


def test_changed_files_are_added_modified_or_removed_in_path_order():
    old = entries(s__a="1" * 40, s__b="2" * 40, s__c="3" * 40)
    new = entries(s__a="1" * 40, s__b="9" * 40, s__d="4" * 40)
    new["s/a"] = FileEntry("100755", "1" * 40)  # a mode change is a modification
    changes, cut = changed_files(old, new)
    assert changes == [
        {"path": "s/a", "status": "modified"},
        {"path": "s/b", "status": "modified"},
        {"path": "s/c", "status": "removed"},
        {"path": "s/d", "status": "added"},
    ]
    assert not cut


def test_without_an_old_listing_every_file_is_added_and_long_lists_are_cut():
    new = {f"s/f{i:04d}": FileEntry("100644", "1" * 40) for i in range(MAX_FILES + 5)}
    changes, cut = changed_files(None, new)
    assert cut and len(changes) == MAX_FILES
    assert {c["status"] for c in changes} == {"added"}


def test_commit_summaries_keep_twenty_newest_and_cut_long_messages():
    commits = [
        {"sha": f"{i:040d}", "message": "m" * 5000, "author": "A", "date": "2026-01-01T00:00:00Z"}
        for i in range(30)
    ]
    out = commit_summaries(commits)
    assert len(out) == MAX_COMMITS
    assert out[0]["sha"] == f"{0:040d}"
    assert len(out[0]["message"]) == MAX_MESSAGE_CHARS and out[0]["message"].endswith("…")
