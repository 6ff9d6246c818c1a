"""A live site, an owner's API client over real HTTP, and Claude Code's CLI pointed at the site's
marketplace: what the end-to-end tests of SPEC 15 share."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from rest_framework.authtoken.models import Token

from tests.claude_code import ClaudeCode, ClaudeResult
from tests.factories import UserFactory


@pytest.fixture
def site(live_server, settings) -> str:
    """The live site's base URL by address (it listens on IPv4 only)."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    return live_server.url.replace("://localhost:", "://127.0.0.1:")


@pytest.fixture
def local_git(settings, tmp_path_factory):
    """The site may read local git repositories (git+file sources) under the test's tmp dirs."""
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_LOCAL_ROOTS = [str(tmp_path_factory.getbasetemp())]
    settings.GIT_ALLOWED_HOSTS = []
    settings.GIT_CACHE_DIR = tmp_path_factory.mktemp("gitcache")
    settings.GIT_TIMEOUT = 30.0
    return settings


@pytest.fixture
def owner_api(site, db) -> Iterator[httpx.Client]:
    """The collection owner's API client, with a token, talking to the live site."""
    owner = UserFactory(username="carol")
    token, _ = Token.objects.get_or_create(user=owner)
    with httpx.Client(
        base_url=f"{site}/api/v1",
        headers={"Authorization": f"Token {token.key}"},
        timeout=120.0,
    ) as client:
        yield client


def call(client: httpx.Client, method: str, url: str, expected: int, **kwargs) -> dict:
    """One API call that must answer `expected`; its JSON body."""
    answer = client.request(method, url, **kwargs)
    assert answer.status_code == expected, f"{method} {url}: {answer.status_code} {answer.text}"
    return answer.json() if answer.content else {}


def share_url(client: httpx.Client, collection_id: int | str) -> str:
    """A new share link's URL (SPEC 15), made through the API as its owner would."""
    link = call(
        client, "POST", f"/collections/{collection_id}/share-links", 201, json={"label": "team"}
    )
    return link["url"]


def refresh(client: httpx.Client, collection_id: int | str, mode: str) -> dict:
    """A refresh run through the API, carried out before the answer."""
    return call(client, "POST", f"/collections/{collection_id}/refresh", 200, json={"mode": mode})


@dataclass
class Marketplace:
    """One site marketplace added to a scratch Claude Code."""

    claude: ClaudeCode
    name: str
    url: str

    def manifest(self) -> dict:
        """The manifest as the site serves it now (the share URL, no login)."""
        answer = httpx.get(self.url, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def plugin(self, name: str) -> dict:
        return next(p for p in self.manifest()["plugins"] if p["name"] == name)

    def run(self, *args: str) -> ClaudeResult:
        return self.claude.run(*args).check()

    def install(self, plugin: str) -> ClaudeResult:
        return self.run("plugin", "install", f"{plugin}@{self.name}", "--yes")

    def update(self, plugin: str) -> ClaudeResult:
        self.run("plugin", "marketplace", "update", self.name)
        return self.run("plugin", "update", f"{plugin}@{self.name}", "--yes")

    def installed(self) -> dict[str, dict]:
        """This marketplace's installed plugins, by name, as `plugin list --json` reports them."""
        listed = self.run("plugin", "list", "--json").json()
        assert isinstance(listed, list)
        suffix = f"@{self.name}"
        return {p["id"].removesuffix(suffix): p for p in listed if p["id"].endswith(suffix)}

    def install_path(self, plugin: str) -> Path:
        path = Path(self.installed()[plugin]["installPath"])
        assert path.is_relative_to(self.claude.plugins_dir), path
        return path

    def details(self, plugin: str) -> dict[str, int]:
        """The component counts `plugin details` shows: skills, agents, hooks, MCP servers."""
        text = self.run("plugin", "details", f"{plugin}@{self.name}").stdout
        counts = {}
        for label, key in (
            ("Skills", "skills"),
            ("Agents", "agents"),
            ("Hooks", "hooks"),
            ("MCP servers", "mcp"),
        ):
            found = re.search(rf"^\s*{label} \((\d+)\)", text, re.MULTILINE)
            assert found, f"no {label} count in:\n{text}"
            counts[key] = int(found[1])
        return counts


def add_marketplace(claude: ClaudeCode, url: str) -> Marketplace:
    """`claude plugin marketplace add <url>`; the marketplace under the name the manifest gives."""
    claude.run("plugin", "marketplace", "add", url).check()
    return known_marketplace(claude, url)


def known_marketplace(claude: ClaudeCode, url: str) -> Marketplace:
    """The marketplace Claude Code knows by this URL (`plugin marketplace list --json`)."""
    known = claude.run("plugin", "marketplace", "list", "--json").check().json()
    assert isinstance(known, list)
    (name,) = [entry["name"] for entry in known if entry.get("url") == url]
    return Marketplace(claude, name, url)


def installed_files(root: Path) -> dict[str, bytes]:
    """The files Claude Code put in a plugin's directory (not its own markers)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != ".in_use" and ".git" not in path.parts
    }


def files_at(repo: Path, sha: str, path: str) -> dict[str, bytes]:
    """The files of `path` at commit `sha`, relative to it; for the root, its own files only
    (a sparse checkout of the root brings no directory)."""

    def git(*args: str) -> bytes:
        return subprocess.run(
            ["git", "-C", str(repo), *args], check=True, capture_output=True
        ).stdout

    if path in ("", "."):
        listing = git("ls-tree", "--name-only", sha).decode().split("\n")
        names = [n for n in listing if n and git("cat-file", "-t", f"{sha}:{n}") == b"blob\n"]
        return {name: git("show", f"{sha}:{name}") for name in names}
    listing = git("ls-tree", "-r", "--name-only", sha, "--", f"{path}/").decode().split("\n")
    return {name.removeprefix(f"{path}/"): git("show", f"{sha}:{name}") for name in listing if name}
