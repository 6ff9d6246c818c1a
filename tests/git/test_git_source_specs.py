"""Parsing git sources (SPEC section 12): their parts, the site's host policy, and the attacks."""

import pytest

from refresher.exceptions import InvalidSource
from refresher.sources import SourceKind, parse_source

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def policy(settings):
    settings.GIT_ALLOWED_HOSTS = ["gitlab.com", "git.example.org:8443"]
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_LOCAL_ROOTS = ["/srv/git", "/tmp"]


@pytest.mark.parametrize(
    ("text", "url", "owner", "repo", "path", "ref"),
    [
        (
            "git+https://gitlab.com/acme/skills.git//skills/pdf@main",
            "https://gitlab.com/acme/skills.git",
            "acme",
            "skills",
            "skills/pdf",
            "main",
        ),
        (
            "git+https://gitlab.com/group/sub/tools.git",
            "https://gitlab.com/group/sub/tools.git",
            "sub",
            "tools",
            "",
            "",
        ),
        (
            f"git+https://gitlab.com/acme/skills.git@{SHA}",
            "https://gitlab.com/acme/skills.git",
            "acme",
            "skills",
            "",
            SHA,
        ),
        (
            "git+https://gitlab.com/acme/skills//agents/review.md@feature/x",
            "https://gitlab.com/acme/skills",
            "acme",
            "skills",
            "agents/review.md",
            "feature/x",
        ),
        (
            "git+https://git.example.org:8443/team/kit.git//hooks/hooks.json",
            "https://git.example.org:8443/team/kit.git",
            "team",
            "kit",
            "hooks/hooks.json",
            "",
        ),
        (
            "git+file:///srv/git/acme/skills//skills/pdf@v1.0",
            "file:///srv/git/acme/skills",
            "acme",
            "skills",
            "skills/pdf",
            "v1.0",
        ),
    ],
)
def test_git_sources_are_parsed_into_their_parts(text, url, owner, repo, path, ref):
    source = parse_source(text, strict=True)
    assert source.kind is SourceKind.GIT
    assert (source.url, source.owner, source.repo, source.path, source.ref) == (
        url,
        owner,
        repo,
        path,
        ref,
    )
    assert source.refreshable
    assert parse_source(source.spec()) == source  # the canonical form parses back


def test_a_host_that_is_not_allowed_is_refused_when_written_and_unsupported_when_stored():
    text = "git+https://bitbucket.org/acme/skills.git//skills/pdf"
    with pytest.raises(InvalidSource, match="not allowed"):
        parse_source(text, strict=True)
    assert parse_source(text).kind is SourceKind.UNSUPPORTED


def test_no_host_is_allowed_by_default(settings):
    settings.GIT_ALLOWED_HOSTS = []
    with pytest.raises(InvalidSource, match="GIT_ALLOWED_HOSTS"):
        parse_source("git+https://gitlab.com/acme/skills.git", strict=True)


def test_local_repositories_are_refused_unless_allowed(settings):
    settings.GIT_ALLOW_LOCAL = False
    with pytest.raises(InvalidSource, match="GIT_ALLOW_LOCAL"):
        parse_source("git+file:///srv/git/skills", strict=True)
    assert parse_source("git+file:///srv/git/skills").kind is SourceKind.UNSUPPORTED


@pytest.mark.parametrize(
    "text",
    [
        # Refs and paths that git would read as options.
        "git+https://gitlab.com/acme/skills.git@--upload-pack=touch /tmp/pwned",
        "git+https://gitlab.com/acme/skills.git@-oProxyCommand=x",
        "git+https://gitlab.com/acme/skills.git//-p/x",
        "git+https://gitlab.com/-acme/skills.git",
        "git+https://gitlab.com/acme/--upload-pack=x",
        "git+file:///-tmp/repo",
        # Climbing out of the repository or the path.
        "git+https://gitlab.com/acme/skills.git//skills/../../etc",
        "git+https://gitlab.com/acme/../skills.git",
        "git+file:///srv/../etc/repo",
        "git+https://gitlab.com/acme/skills.git@main..other",
        # Control characters, spaces, escapes.
        "git+https://gitlab.com/acme/skills.git//a\nb",
        "git+https://gitlab.com/acme/skills.git@ma\x00in",
        "git+https://gitlab.com/acme/skills.git//a%2F..%2Fb",
        "git+https://gitlab.com/acme/sk ills.git",
        # Other transports and smuggled credentials.
        "git+ext::sh -c touch% /tmp/pwned",
        "git+ssh://git@gitlab.com/acme/skills.git",
        "git+http://gitlab.com/acme/skills.git",
        "git+fd::17",
        "git+https://user:secret@gitlab.com/acme/skills.git",
        "git+https://gitlab.com/acme/skills.git?x=1",
        "git+file://otherhost/srv/repo",
        "git+https://gitlab.com",
        "git+https://gitlab.com/acme/skills.git@",
        "git+https://gitlab.com:99999/acme/skills.git",
        "git+https://gitl_ab.com/acme/skills.git",
    ],
)
def test_attacks_and_malformed_git_sources_are_refused(text):
    with pytest.raises(InvalidSource):
        parse_source(text, strict=True)
    with pytest.raises(InvalidSource):
        parse_source(text)  # stored, they are invalid_source errors, never read


def test_git_sources_are_refused_with_a_400_by_the_api(api, user, settings):
    from tests.factories import CollectionFactory

    settings.GIT_ALLOWED_HOSTS = []
    collection = CollectionFactory(owner=user)
    r = api.post(
        "/api/v1/artifacts/",
        {
            "collection": str(collection.pk),
            "type": "skill",
            "name": "pdf",
            "source": "git+https://gitlab.com/acme/skills.git//skills/pdf",
        },
        format="json",
    )
    assert r.status_code == 400
    assert "GIT_ALLOWED_HOSTS" in r.json()["details"]["source"][0]

    settings.GIT_ALLOWED_HOSTS = ["gitlab.com"]
    r = api.post(
        "/api/v1/artifacts/",
        {
            "collection": str(collection.pk),
            "type": "skill",
            "name": "pdf",
            "source": "git+https://gitlab.com/acme/skills.git//skills/pdf@v2",
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["source_kind"] == "git"
    assert (body["upstream_owner"], body["upstream_repo"], body["upstream_path"]) == (
        "acme",
        "skills",
        "skills/pdf",
    )
    assert body["upstream_ref"] == "v2"


@pytest.mark.parametrize("port", ["22", "6379", "8443", "1"])
def test_a_host_listed_without_a_port_is_allowed_on_the_https_port_only(port):
    """Listing `gitlab.com` lets the site fetch https://gitlab.com/, not make https requests
    to any port of that machine (an SSH daemon, a cache, an admin console)."""
    text = f"git+https://gitlab.com:{port}/acme/skills.git"
    with pytest.raises(InvalidSource, match="not allowed"):
        parse_source(text, strict=True)
    assert parse_source(text).kind is SourceKind.UNSUPPORTED
    assert parse_source("git+https://gitlab.com:443/acme/skills.git").kind is SourceKind.GIT
    assert parse_source("git+https://gitlab.com/acme/skills.git").kind is SourceKind.GIT
    # A host listed with its port is allowed on that port.
    assert parse_source("git+https://git.example.org:8443/a/b.git").kind is SourceKind.GIT
    assert parse_source("git+https://git.example.org/a/b.git").kind is SourceKind.UNSUPPORTED
