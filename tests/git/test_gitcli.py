"""The git runner: hardened options, refused transports, timeouts that stop the whole group."""

import os
import stat

import pytest

from refresher.upstream.git.cli import Git, GitFailed, classify


@pytest.fixture
def git(tmp_path) -> Git:
    return Git(timeout=20, allow_local=False, home=tmp_path / "home")


def test_ext_and_other_transports_are_refused(git, tmp_path):
    marker = tmp_path / "pwned"
    for url in (
        f"ext::sh -c touch% {marker}",
        f"file://{tmp_path}",
        "fd::0",
        "http://127.0.0.1:9/x",
    ):
        with pytest.raises(GitFailed):
            git.run(["ls-remote", "--", url])
    assert not marker.exists()


def test_file_transport_needs_local_to_be_allowed(tmp_path):
    repo = tmp_path / "repo"
    Git(home=tmp_path / "h").run(["init", "--quiet", "--bare", "--", str(repo)])
    with pytest.raises(GitFailed, match="not allowed"):
        Git(home=tmp_path / "h").run(["ls-remote", "--", f"file://{repo}"])
    Git(home=tmp_path / "h", allow_local=True).run(["ls-remote", "--", f"file://{repo}"])


def test_every_command_runs_without_hooks_prompts_or_outside_config(git, tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_ASKPASS", "/bin/echo")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.hookspath'='/tmp/hooks'")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".gitconfig").write_text("[core]\n\thooksPath = /tmp/evil\n")
    assert git.run(["config", "core.hooksPath"]).decode().strip() == "/dev/null"
    assert git.run(["config", "protocol.allow"]).decode().strip() == "never"
    assert git.run(["config", "--get-all", "credential.helper"]).decode().strip() == ""
    env = git.environment()
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null" and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert "GIT_ASKPASS" not in env and "SSH_ASKPASS" not in env


def test_a_hanging_git_is_stopped_at_its_timeout(tmp_path):
    script = tmp_path / "slowgit"
    finished = tmp_path / "finished"
    # Had the runner waited for it, this git would have written `finished` before returning.
    script.write_text(f"#!/bin/sh\nsleep 30 &\nwait\ntouch {finished}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    git = Git(binary=str(script), timeout=0.5, home=tmp_path / "home")
    with pytest.raises(GitFailed) as caught:
        git.run(["ls-remote", "origin"])
    assert caught.value.code == "upstream_unavailable"
    assert not finished.exists()


def test_a_missing_git_binary_is_an_unavailable_upstream(tmp_path):
    git = Git(binary=str(tmp_path / "no-git"), home=tmp_path / "home")
    with pytest.raises(GitFailed) as caught:
        git.run(["version"])
    assert caught.value.code == "upstream_unavailable"


@pytest.mark.parametrize(
    ("stderr", "code"),
    [
        ("fatal: repository 'https://h/x.git/' not found", "upstream_not_found"),
        ("fatal: '/srv/x' does not appear to be a git repository", "upstream_not_found"),
        (
            "fatal: could not read Username for 'https://h': terminal prompts disabled",
            "upstream_forbidden",
        ),
        ("fatal: unable to access 'https://h/': Could not resolve host: h", "upstream_unavailable"),
    ],
)
def test_failures_map_to_entry_codes(stderr, code):
    assert classify(stderr) == code


def test_the_runner_does_not_inherit_the_callers_environment(git, monkeypatch):
    monkeypatch.setenv("GIT_DIR", "/tmp/elsewhere")
    env = git.environment()
    assert "GIT_DIR" not in env
    assert set(env) <= {
        "PATH", "HOME", "LC_ALL", "GIT_TERMINAL_PROMPT", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL",
        "GIT_ALLOW_PROTOCOL", "GIT_PROTOCOL_FROM_USER", "GIT_SSH_COMMAND",
    }  # fmt: skip
    assert os.environ["GIT_DIR"] == "/tmp/elsewhere"


def test_a_login_reaches_git_through_its_environment_only(tmp_path):
    """The wrapper sees what any process listing would: the arguments; the login is not there."""
    from refresher.secrets import Secret
    from refresher.upstream.git.cli import GitLogin

    seen = tmp_path / "seen"
    wrapper = tmp_path / "git-wrapper"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" >> {seen}\n'
        f'printf "%s\\n" "$GIT_CONFIG_KEY_0" >> {seen}.env\n'
        'exec git "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    git = Git(binary=str(wrapper), timeout=20, home=tmp_path / "home")
    login = GitLogin("git.example.com:8443", "bot", Secret("pa55-word-in-env-only"))

    out = git.run(
        ["config", "--get", "http.https://git.example.com:8443/.extraheader"], login=login
    )

    assert out.decode().strip().startswith("Authorization: Basic ")
    assert "pa55-word-in-env-only" not in seen.read_text()
    assert "http.https://git.example.com:8443/.extraHeader" in (tmp_path / "seen.env").read_text()
    assert "GIT_CONFIG_KEY_0" not in git.environment()  # only a run with a login carries one


def test_a_refused_login_and_a_missing_one_are_told_apart():
    stderr = "fatal: Authentication failed for 'https://h/x.git/'"
    assert classify(stderr, login=True) == "upstream_unauthorized"
    assert classify(stderr) == "upstream_forbidden"
