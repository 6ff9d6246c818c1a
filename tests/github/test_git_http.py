"""Git's smart HTTP in the GitHub fake: plain `git clone` against it, partial clones with
`--filter`, protocol v2 through the `Git-Protocol` header, and who may read a private
repository (GitHub's 401 and 404)."""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from fakegithub import FakeGitHub

SKILL = "---\nname: release-notes\ndescription: Drafts release notes\n---\n\nRead the log.\n"
SKILL_V2 = SKILL + "\nGroup the changes by area.\n"


@pytest.fixture
def fake():
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def kit(fake: FakeGitHub) -> dict[str, str]:
    """acme/writing-kit: a skill, changed once, and an annotated tag on the first commit."""
    first = fake.add_repo(
        "acme/writing-kit",
        files={"skills/release-notes/SKILL.md": SKILL, "README.md": "# Writing kit\n"},
    )
    fake.tag("acme/writing-kit", "v1.0.0", annotated=True)
    second = fake.commit("acme/writing-kit", files={"skills/release-notes/SKILL.md": SKILL_V2})
    return {"first": first, "second": second}


def git(*args: str | Path, cwd: Path | None = None, check: bool = True) -> str:
    """Run git as a user with no configuration and no terminal; stdout, or the failure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "SSH_ASKPASS": "",
    }
    done = subprocess.run(
        ["git", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    if check:
        assert done.returncode == 0, f"git {args} failed:\n{done.stderr}"
        return done.stdout.strip()
    return done.stdout + done.stderr


def with_token(url: str, token: str, user: str = "x-access-token") -> str:
    return url.replace("http://", f"http://{user}:{token}@", 1)


def basic(token: str, user: str = "alice") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def test_a_partial_clone_fetches_no_blob_until_a_checkout_needs_it(fake, kit, tmp_path):
    clone = tmp_path / "kit"
    git("clone", "--filter=blob:none", "--no-checkout", fake.clone_url("acme/writing-kit"), clone)

    assert git("rev-parse", "HEAD", cwd=clone) == kit["second"] == fake.head("acme/writing-kit")
    assert git("config", "remote.origin.promisor", cwd=clone) == "true"
    missing = git("rev-list", "--objects", "--missing=print", "HEAD", cwd=clone).splitlines()
    assert sum(line.startswith("?") for line in missing) == 3  # two versions of SKILL.md, README
    # The trees are git's own: the same SHA the API gives for the directory.
    assert git("rev-parse", "HEAD:skills/release-notes", cwd=clone) == fake.tree_sha(
        "acme/writing-kit", "skills/release-notes"
    )

    git("checkout", "--quiet", kit["first"], "--", "skills/release-notes", cwd=clone)
    assert (clone / "skills/release-notes/SKILL.md").read_text() == SKILL
    assert not (clone / "README.md").exists()
    assert git("tag", "--list", cwd=clone) == "v1.0.0"
    assert git("rev-parse", "v1.0.0^{commit}", cwd=clone) == kit["first"]


def test_git_sends_protocol_v2_and_the_fake_speaks_it(fake, kit, tmp_path):
    git("clone", "--filter=blob:none", fake.clone_url("acme/writing-kit"), tmp_path / "kit")

    git_requests = [r for r in fake.requests if r.path.startswith("/acme/writing-kit.git/")]
    assert [r.method for r in git_requests[:2]] == ["GET", "POST"]
    assert all(r.headers.get("git-protocol") == "version=2" for r in git_requests)
    assert all(r.status == 200 for r in git_requests)
    assert fake.count(kind="git") == len(git_requests)

    url = fake.clone_url("acme/writing-kit") + "/info/refs?service=git-upload-pack"
    v2 = httpx.get(url, headers={"Git-Protocol": "version=2"})
    assert v2.headers["content-type"] == "application/x-git-upload-pack-advertisement"
    assert v2.content.startswith(b"000eversion 2\n")
    assert b"fetch=" in v2.content and b"filter" in v2.content
    v0 = httpx.get(url)
    assert v0.content.startswith(b"001e# service=git-upload-pack\n0000")
    assert kit["second"].encode() + b" HEAD" in v0.content


def test_protocol_v0_clones_too(fake, kit, tmp_path):
    clone = tmp_path / "kit"
    git("-c", "protocol.version=0", "clone", fake.clone_url("acme/writing-kit"), clone)
    assert (clone / "skills/release-notes/SKILL.md").read_text() == SKILL_V2
    assert all("git-protocol" not in r.headers for r in fake.requests)


def test_a_commit_no_ref_points_at_is_fetched_by_its_sha(fake, kit, tmp_path):
    """Claude Code fetches a pinned `sha`; the branch has moved on since."""
    fake.commit("acme/writing-kit", files={"README.md": "# Writing kit, again\n"})
    clone = tmp_path / "pinned"
    git("init", "--quiet", clone)
    git("remote", "add", "origin", fake.clone_url("acme/writing-kit"), cwd=clone)
    git("fetch", "--quiet", "--depth=1", "--filter=blob:none", "origin", kit["first"], cwd=clone)
    git("checkout", "--quiet", "FETCH_HEAD", cwd=clone)
    assert git("rev-parse", "HEAD", cwd=clone) == kit["first"]
    assert (clone / "skills/release-notes/SKILL.md").read_text() == SKILL


def test_the_clone_follows_new_commits_and_moved_refs(fake, kit, tmp_path):
    clone = tmp_path / "kit"
    git("clone", "--quiet", fake.clone_url("acme/writing-kit"), clone)
    third = fake.commit("acme/writing-kit", files={"skills/release-notes/SKILL.md": "v3\n"})
    fake.commit("acme/writing-kit", files={"NOTES.md": "n\n"}, branch="drafts")
    git("fetch", "--quiet", "origin", cwd=clone)
    assert git("rev-parse", "origin/main", cwd=clone) == third
    assert git("rev-parse", "origin/drafts", cwd=clone) == fake.head("acme/writing-kit", "drafts")
    assert git("show", "origin/main:skills/release-notes/SKILL.md", cwd=clone) == "v3"


def test_git_traffic_costs_no_api_quota(fake, kit, tmp_path):
    before = fake.rate_limit_remaining
    git(
        "clone", "--quiet", "--filter=blob:none", fake.clone_url("acme/writing-kit"), tmp_path / "k"
    )
    assert fake.count(kind="git") >= 2
    assert fake.rate_limit_remaining == before


@pytest.fixture
def private(fake: FakeGitHub) -> str:
    fake.add_repo("acme/secret-kit", files={"agents/reviewer.md": "# Reviewer\n"}, private=True)
    fake.add_token("reader-token", login="carol", private=["acme/secret-kit"])
    fake.add_token("outsider-token", login="dave")
    return fake.clone_url("acme/secret-kit")


def test_a_private_repository_clones_with_a_token_that_reads_it(fake, private, tmp_path):
    clone = tmp_path / "secret"
    git("clone", "--quiet", "--filter=blob:none", with_token(private, "reader-token"), clone)
    assert (clone / "agents/reviewer.md").read_text() == "# Reviewer\n"
    # The fake's own token reads every repository; the log says it was the one used.
    git("clone", "--quiet", with_token(private, fake.token), tmp_path / "own")
    assert fake.requests[-1].authorized


def test_a_private_repository_asks_for_credentials_without_them(fake, private, tmp_path):
    answer = httpx.get(private + "/info/refs?service=git-upload-pack")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Basic realm="GitHub"'
    failure = git("clone", private, tmp_path / "no", check=False)
    assert "could not read Username" in failure or "Authentication failed" in failure
    assert not (tmp_path / "no").exists()


def test_a_token_that_cannot_read_it_finds_no_repository(fake, private, tmp_path):
    answer = httpx.get(
        private + "/info/refs?service=git-upload-pack", headers=basic("outsider-token")
    )
    assert (answer.status_code, answer.text) == (404, "Repository not found.\n")
    missing = httpx.get(
        fake.clone_url("acme/nothing-here") + "/info/refs?service=git-upload-pack",
        headers=basic("outsider-token"),
    )
    assert (missing.status_code, missing.text) == (404, "Repository not found.\n")
    failure = git("clone", with_token(private, "outsider-token"), tmp_path / "no", check=False)
    assert "Repository not found" in failure


def test_a_missing_repository_without_credentials_asks_for_them(fake):
    answer = httpx.get(fake.clone_url("acme/nothing-here") + "/info/refs?service=git-upload-pack")
    assert answer.status_code == 401
    assert "www-authenticate" in answer.headers


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"carol:revoked-token").decode(),
        "Basic not-base64!",
        "Basic " + base64.b64encode(b":").decode(),
        "Digest abc",
    ],
)
def test_credentials_github_does_not_accept_are_a_401(fake, private, authorization):
    fake.add_token("revoked-token", login="carol", private="all")
    fake.revoke_token("revoked-token")
    answer = httpx.get(
        private + "/info/refs?service=git-upload-pack", headers={"Authorization": authorization}
    )
    assert answer.status_code == 401
    assert "Invalid username or token" in answer.text


def test_a_bearer_token_reads_too(fake, private):
    answer = httpx.get(
        private + "/info/refs?service=git-upload-pack",
        headers={"Authorization": "Bearer reader-token", "Git-Protocol": "version=2"},
    )
    assert answer.status_code == 200
    assert answer.content.startswith(b"000eversion 2\n")


def test_pushes_and_the_dumb_protocol_are_refused(fake, kit, tmp_path):
    url = fake.clone_url("acme/writing-kit")
    assert httpx.get(url + "/info/refs").status_code == 403
    assert httpx.get(url + "/info/refs?service=git-receive-pack").status_code == 401
    push = httpx.post(url + "/git-receive-pack", headers=basic(fake.token))
    assert push.status_code == 403
    assert "denied" in push.text
    clone = tmp_path / "kit"
    git("clone", "--quiet", url, clone)
    git("-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "--allow-empty",
        "-m", "x", cwd=clone)  # fmt: skip
    assert git("push", with_token(url, fake.token), "HEAD:main", cwd=clone, check=False)
    assert fake.head("acme/writing-kit") == kit["second"]


def test_bad_requests_to_upload_pack(fake, kit):
    url = fake.clone_url("acme/writing-kit")
    assert httpx.get(url + "/git-upload-pack").status_code == 405
    assert httpx.post(url + "/info/refs?service=git-upload-pack").status_code == 405
    wrong_type = httpx.post(url + "/git-upload-pack", content=b"0000")
    assert wrong_type.status_code == 415
    bad_header = httpx.get(
        url + "/info/refs?service=git-upload-pack", headers={"Git-Protocol": "version=2 bogus"}
    )
    assert bad_header.status_code == 400
    bad_gzip = httpx.post(
        url + "/git-upload-pack",
        content=b"not gzip",
        headers={
            "Content-Type": "application/x-git-upload-pack-request",
            "Content-Encoding": "gzip",
        },
    )
    assert bad_gzip.status_code == 400


def test_an_injected_failure_reaches_git(fake, kit, tmp_path):
    fake.fail(r"/acme/writing-kit\.git/info/refs", status=500, times=1)
    failure = git("clone", fake.clone_url("acme/writing-kit"), tmp_path / "k", check=False)
    assert "500" in failure
    git("clone", "--quiet", fake.clone_url("acme/writing-kit"), tmp_path / "k")


def test_an_empty_repository_clones_empty_and_a_renamed_one_by_its_new_name(fake, tmp_path):
    fake.add_repo("acme/empty", files={})
    failure = git("clone", fake.clone_url("acme/empty"), tmp_path / "e", check=False)
    assert "empty repository" in failure
    fake.add_repo("acme/old-name", files={"a.md": "a\n"})
    git("clone", "--quiet", fake.clone_url("acme/old-name"), tmp_path / "a")
    fake.rename("acme/old-name", "acme/new-name")
    fake.commit("acme/new-name", files={"b.md": "b\n"})
    git("clone", "--quiet", fake.clone_url("acme/new-name"), tmp_path / "b")
    assert (tmp_path / "b/b.md").read_text() == "b\n"


def test_stopping_the_fake_removes_its_repositories(kit, fake, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    git("clone", "--quiet", fake.clone_url("acme/writing-kit"), tmp_path / "k")
    written = list(scratch.glob("fakegithub-git-*/*.git"))
    assert len(written) == 1
    fake.stop()
    assert not list(scratch.iterdir())
