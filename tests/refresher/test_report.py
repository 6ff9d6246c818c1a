"""refresher.report: one reading of an entry's changes for the admin and the command line."""

from refresher.changes import ContentVersion, FieldChange
from refresher.report import change_rows, show

OLD = ContentVersion(text="old text", content_sha="a" * 40, resolved_sha="c" * 40)
MOVED = ContentVersion(text="new text", content_sha="b" * 40, resolved_sha="d" * 40)
SAME_COMMIT = ContentVersion(text="new text", content_sha="b" * 40, resolved_sha="c" * 40)

CHANGES = {
    "description": FieldChange(old="", new="Reads PDFs", applied=True),
    "topics": FieldChange(old=["pdf"], new=["docs", "pdf"], applied=False),
    "content": FieldChange(old=OLD, new=MOVED, applied=True),
}


def test_the_admin_rows_show_blanks_as_none_lists_joined_and_content_by_its_shas():
    rows = change_rows(CHANGES, locked=frozenset({"topics"}))

    assert [(r.field, r.old, r.new, r.applied, r.locked) for r in rows] == [
        ("description", None, "Reads PDFs", True, False),
        ("topics", "pdf", "docs, pdf", False, True),
        (
            "content",
            "content aaaaaaaaaaaa at commit cccccccccccc",
            "content bbbbbbbbbbbb at commit dddddddddddd",
            True,
            False,
        ),
    ]


def test_the_command_rows_quote_values_and_split_the_content_into_its_shas():
    rows = change_rows(CHANGES, render=show, content_shas=True)

    assert [(r.field, r.old, r.new, r.applied) for r in rows] == [
        ("description", '""', '"Reads PDFs"', True),
        ("topics", '["pdf"]', '["docs", "pdf"]', False),
        ("content.content_sha", f'"{"a" * 40}"', f'"{"b" * 40}"', True),
        ("content.resolved_sha", f'"{"c" * 40}"', f'"{"d" * 40}"', True),
    ]


def test_the_command_shows_the_commit_only_when_it_moved():
    changes = {"content": FieldChange(old=OLD, new=SAME_COMMIT, applied=False)}

    rows = change_rows(changes, render=show, content_shas=True)

    assert [r.field for r in rows] == ["content.content_sha"]


def test_neither_rendering_ever_shows_the_content_text():
    for rows in (
        change_rows(CHANGES),
        change_rows(CHANGES, render=show, content_shas=True),
    ):
        shown = " ".join(f"{r.old} {r.new}" for r in rows)
        assert "old text" not in shown and "new text" not in shown
