import pytest

from refresher.exceptions import InvalidSource
from refresher.sources import Source, SourceKind, parse_source

SHA = "0123456789abcdef0123456789abcdef01234567"


def gh(owner: str, repo: str, path: str = "", ref: str = "") -> Source:
    return Source(SourceKind.GITHUB, owner=owner, repo=repo, path=path, ref=ref)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("anthropics/skills", gh("anthropics", "skills")),
        ("anthropics/skills/skills/pdf", gh("anthropics", "skills", "skills/pdf")),
        ("anthropics/skills/skills/pdf/", gh("anthropics", "skills", "skills/pdf")),
        ("anthropics/skills/skills/pdf@main", gh("anthropics", "skills", "skills/pdf", "main")),
        ("anthropics/skills@v1.2.0", gh("anthropics", "skills", "", "v1.2.0")),
        (f"acme/tools/agents/review.md@{SHA}", gh("acme", "tools", "agents/review.md", SHA)),
        ("acme/tools/cmds@feature/new-parser", gh("acme", "tools", "cmds", "feature/new-parser")),
        ("acme/my.repo_x-1/a/b", gh("acme", "my.repo_x-1", "a/b")),
        ("https://github.com/anthropics/skills", gh("anthropics", "skills")),
        ("https://github.com/anthropics/skills/", gh("anthropics", "skills")),
        ("https://github.com/anthropics/skills.git", gh("anthropics", "skills")),
        ("http://www.github.com/anthropics/skills", gh("anthropics", "skills")),
        (
            "https://github.com/anthropics/skills/tree/main/skills/pdf",
            gh("anthropics", "skills", "skills/pdf", "main"),
        ),
        (
            "https://github.com/anthropics/skills/tree/main/skills/pdf/",
            gh("anthropics", "skills", "skills/pdf", "main"),
        ),
        (
            f"https://github.com/anthropics/skills/tree/{SHA}/skills/pdf",
            gh("anthropics", "skills", "skills/pdf", SHA),
        ),
        (
            "https://github.com/acme/tools/tree/v2.0.1",
            gh("acme", "tools", "", "v2.0.1"),
        ),
        (
            "https://github.com/acme/tools/blob/main/commands/deploy.md",
            gh("acme", "tools", "commands/deploy.md", "main"),
        ),
        ("  anthropics/skills  ", gh("anthropics", "skills")),
    ],
)
def test_accepted_github_specs_parse_into_owner_repo_path_ref(text, expected):
    assert parse_source(text) == expected


def test_a_sha_ref_in_a_tree_url_pins_the_artifact():
    assert parse_source(f"https://github.com/a/b/tree/{SHA}/x").pinned_to_sha
    assert not parse_source("https://github.com/a/b/tree/main/x").pinned_to_sha


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", SourceKind.NONE),
        ("   ", SourceKind.NONE),
        (None, SourceKind.NONE),
        ("/home/me/skills/pdf", SourceKind.LOCAL),
        ("./skills/pdf", SourceKind.LOCAL),
        ("../skills/pdf", SourceKind.LOCAL),
        ("~/skills/pdf", SourceKind.LOCAL),
        ("file:///tmp/skills", SourceKind.LOCAL),
        ("https://gitlab.com/acme/skills", SourceKind.UNSUPPORTED),
        ("https://bitbucket.org/acme/skills/src/main/x", SourceKind.UNSUPPORTED),
    ],
)
def test_empty_local_and_other_host_sources_are_kept_but_not_refreshable(text, kind):
    parsed = parse_source(text)
    assert parsed.kind is kind
    assert not parsed.refreshable


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("acme/skills/../secrets", "'..'"),
        ("acme/skills/a/../../b", "'..'"),
        ("bad_owner!/skills", "owner"),
        ("-acme/skills", "owner"),
        ("a" * 40 + "/skills", "owner"),
        ("acme/sk ills", "repository"),
        ("acme/" + "r" * 101, "repository"),
        ("acme", "owner/repo"),
        ("acme/", "owner/repo"),
        ("https://github.com/onlyowner", "owner and a repository"),
        ("https://github.com/", "owner and a repository"),
        ("https://github.com/acme/skills/issues/3", "tree"),
        ("https://github.com/acme/skills/blob/main", "file"),
        ("acme/skills@", "empty"),
        ("acme/skills@bad..ref", "ref"),
        ("acme/skills@has space", "ref"),
        ("acme/skills/a\x00b", "control"),
        ("acme/skills//double", "empty segments"),
        ("ftp://github.com/acme/skills", "scheme"),
    ],
)
def test_invalid_github_specs_are_rejected_with_a_message_naming_the_problem(text, problem):
    with pytest.raises(InvalidSource) as caught:
        parse_source(text)
    assert problem in str(caught.value)


def test_canonical_spec_round_trips():
    parsed = parse_source("https://github.com/acme/tools/tree/v1/agents/x")
    assert parsed.spec() == "acme/tools/agents/x@v1"
    assert parse_source(parsed.spec()) == parsed
