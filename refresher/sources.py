"""Source specs: what a user writes to say where an artifact lives upstream (SPEC section 3).

`parse_source` turns the text into a `Source`. GitHub specs are validated strictly and raise
`InvalidSource` with a message naming the problem; empty and local sources, and URLs of other hosts,
are accepted but marked as not refreshable.

A URL is a GitHub source only when its host is the configured GitHub web host (`GITHUB_WEB_URL`:
github.com, or a GitHub Enterprise host), because it will be read from `GITHUB_API_URL` alone: a
URL of any other host is `unsupported_source` and is never sent to another host's API.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from refresher.exceptions import InvalidSource

OWNER_RE = re.compile(r"^[A-Za-z0-9-]{1,39}$")
REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
MAX_REF_LENGTH = 255
MAX_PATH_LENGTH = 500
GITHUB_HOSTS = frozenset({"github.com", "www.github.com"})
DEFAULT_WEB_URL = "https://github.com"
LOCAL_PREFIXES = ("/", "./", "../", "~", "file:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Characters git forbids in ref names (git-check-ref-format), plus whitespace.
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


class SourceKind(StrEnum):
    GITHUB = "github"
    NONE = "none"
    LOCAL = "local"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    owner: str = ""
    repo: str = ""
    path: str = ""
    ref: str = ""

    @property
    def refreshable(self) -> bool:
        return self.kind is SourceKind.GITHUB

    @property
    def pinned_to_sha(self) -> bool:
        return bool(SHA_RE.match(self.ref))

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    def spec(self) -> str:
        """The canonical short form, `owner/repo[/path][@ref]`."""
        text = self.full_name + (f"/{self.path}" if self.path else "")
        return text + (f"@{self.ref}" if self.ref else "")


def github_web_hosts() -> frozenset[str]:
    """The hosts whose source URLs are GitHub sources read from the configured API."""
    try:
        web_url = getattr(settings, "GITHUB_WEB_URL", "") or DEFAULT_WEB_URL
    except ImproperlyConfigured:  # used outside a configured site (scripts, the fake)
        web_url = DEFAULT_WEB_URL
    host = (urlsplit(web_url).hostname or "").lower()
    return GITHUB_HOSTS if host in GITHUB_HOSTS else frozenset({host})


def parse_source(text: str | None) -> Source:
    """Parse a source spec; raise InvalidSource for a malformed GitHub spec."""
    raw = (text or "").strip()
    if not raw:
        return Source(SourceKind.NONE)
    if raw.startswith(LOCAL_PREFIXES):
        return Source(SourceKind.LOCAL)
    if "://" in raw:
        return _parse_url(raw)
    return _parse_short(raw)


def _parse_url(raw: str) -> Source:
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").lower()
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 host
        raise InvalidSource(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidSource(f"unsupported URL scheme {parts.scheme!r}")
    if host not in github_web_hosts():
        return Source(SourceKind.UNSUPPORTED)
    if parts.query or parts.fragment:
        raise InvalidSource("a GitHub URL source must not carry a query or a fragment")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if len(segments) < 2:
        raise InvalidSource("a GitHub URL must name an owner and a repository")
    owner, repo = segments[0], segments[1]
    if repo.endswith(".git"):
        repo = repo[: -len(".git")]
    rest = segments[2:]
    ref, path = "", ""
    if rest:
        if rest[0] not in ("tree", "blob") or len(rest) < 2:
            raise InvalidSource(
                "a GitHub URL must be a repository, a /tree/<ref>/<path> "
                "or a /blob/<ref>/<path> link"
            )
        # The first segment after tree/blob is the ref: a branch name with a slash cannot be told
        # apart from a path in a URL, so such refs must use the short form `owner/repo/path@ref`.
        ref, path = rest[1], "/".join(rest[2:])
        if rest[0] == "blob" and not path:
            raise InvalidSource("a /blob/ URL must name a file")
    return _validated(owner, repo, path, ref)


def _parse_short(raw: str) -> Source:
    spec, ref = raw, ""
    if "@" in raw:
        spec, ref = raw.rsplit("@", 1)
        if not ref:
            raise InvalidSource("a ref after '@' must not be empty")
    segments = spec.split("/")
    if len(segments) < 2 or not segments[0] or not segments[1]:
        raise InvalidSource("a source must look like owner/repo[/path][@ref]")
    owner, repo = segments[0], segments[1]
    path = "/".join(segments[2:]).rstrip("/")
    return _validated(owner, repo, path, ref)


def _validated(owner: str, repo: str, path: str, ref: str) -> Source:
    if not OWNER_RE.match(owner) or owner.startswith("-"):
        raise InvalidSource(f"invalid GitHub owner {owner!r}: letters, digits and '-', 1-39 long")
    if not REPO_RE.match(repo) or repo in (".", ".."):
        raise InvalidSource(f"invalid GitHub repository {repo!r}: letters, digits, '.', '_', '-'")
    path = path.rstrip("/")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidSource(f"the path is longer than {MAX_PATH_LENGTH} characters")
    if path:
        if _CONTROL.search(path):
            raise InvalidSource("the path contains control characters")
        pieces = path.split("/")
        if any(piece in ("", ".", "..") for piece in pieces):
            raise InvalidSource(f"invalid path {path!r}: no '..', '.' or empty segments")
    if ref:
        ref = ref.strip("/") if ref.endswith("/") else ref
        if len(ref) > MAX_REF_LENGTH:
            raise InvalidSource(f"the ref is longer than {MAX_REF_LENGTH} characters")
        if (
            _BAD_REF.search(ref)
            or ".." in ref
            or "//" in ref
            or ref.startswith(("/", "-", "."))
            or ref.endswith((".lock", "."))
            or "@{" in ref
        ):
            raise InvalidSource(f"invalid git ref {ref!r}")
    return Source(SourceKind.GITHUB, owner=owner, repo=repo, path=path, ref=ref)
