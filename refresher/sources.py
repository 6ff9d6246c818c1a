"""Source specs: what a user writes to say where an artifact lives upstream (SPEC section 3).

`parse_source` turns the text into a `Source`. GitHub specs are validated strictly and raise
`InvalidSource` with a message naming the problem; empty and local sources, and URLs of other hosts,
are accepted but marked as not refreshable.

A URL is a GitHub source only when its host is the configured GitHub web host (`GITHUB_WEB_URL`:
github.com, or a GitHub Enterprise host), because it will be read from `GITHUB_API_URL` alone: a
URL of any other host is `unsupported_source` and is never sent to another host's API.

Git sources (SPEC section 12), `git+https://HOST/PATH/REPO.git//sub/path@ref` and
`git+file:///abs/repo//sub/path@ref`, are validated as strictly, since their parts end up as
arguments of the `git` command line. Whether a host (or a local repository) may be read is a site
setting: a refused one is `unsupported` when stored, and a 400 when written (`strict=True`).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
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
    GIT = "git"


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    owner: str = ""
    repo: str = ""
    path: str = ""
    ref: str = ""
    # Git sources only: the URL git is given (`https://...` or `file:///...`) and its host.
    url: str = ""
    host: str = ""

    @property
    def refreshable(self) -> bool:
        return self.kind in (SourceKind.GITHUB, SourceKind.GIT)

    @property
    def pinned_to_sha(self) -> bool:
        return bool(SHA_RE.match(self.ref))

    @property
    def full_name(self) -> str:
        """`owner/repo` of a GitHub source; the repository URL of a git source."""
        return self.url if self.kind is SourceKind.GIT else f"{self.owner}/{self.repo}"

    def spec(self) -> str:
        """The canonical form: `owner/repo[/path][@ref]`, or `git+URL[//path][@ref]`."""
        if self.kind is SourceKind.GIT:
            text = f"git+{self.url}" + (f"//{self.path}" if self.path else "")
        else:
            text = self.full_name + (f"/{self.path}" if self.path else "")
        return text + (f"@{self.ref}" if self.ref else "")

    def at(self, path: str, ref: str | None = None) -> "Source":
        """The same repository at another path (and ref)."""
        return Source(
            self.kind,
            owner=self.owner,
            repo=self.repo,
            path=path,
            ref=self.ref if ref is None else ref,
            url=self.url,
            host=self.host,
        )


def github_web_hosts() -> frozenset[str]:
    """The hosts whose source URLs are GitHub sources read from the configured API."""
    try:
        web_url = getattr(settings, "GITHUB_WEB_URL", "") or DEFAULT_WEB_URL
    except ImproperlyConfigured:  # used outside a configured site (scripts, the fake)
        web_url = DEFAULT_WEB_URL
    host = (urlsplit(web_url).hostname or "").lower()
    return GITHUB_HOSTS if host in GITHUB_HOSTS else frozenset({host})


def parse_source(text: str | None, *, strict: bool = False) -> Source:
    """Parse a source spec; raise InvalidSource for a malformed GitHub or git spec.

    A git source the site does not allow (`GIT_ALLOWED_HOSTS`, `GIT_ALLOW_LOCAL`) is
    `unsupported`, or an InvalidSource with `strict=True` (what a write of the source uses).
    """
    raw = (text or "").strip()
    if not raw:
        return Source(SourceKind.NONE)
    if raw.lower().startswith("git+"):
        return _allowed(_parse_git(raw), strict=strict)
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
        raise InvalidSource(
            f"unsupported URL scheme {parts.scheme!r}; git repositories of other hosts are "
            "written git+https://HOST/PATH/REPO.git//path@ref"
        )
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


def _validated_path(path: str) -> str:
    path = path.rstrip("/")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidSource(f"the path is longer than {MAX_PATH_LENGTH} characters")
    if path:
        if _CONTROL.search(path):
            raise InvalidSource("the path contains control characters")
        pieces = path.split("/")
        if any(piece in ("", ".", "..") for piece in pieces):
            raise InvalidSource(f"invalid path {path!r}: no '..', '.' or empty segments")
    return path


def _validated_ref(ref: str) -> str:
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
    return ref


def _validated(owner: str, repo: str, path: str, ref: str) -> Source:
    if not OWNER_RE.match(owner) or owner.startswith("-"):
        raise InvalidSource(f"invalid GitHub owner {owner!r}: letters, digits and '-', 1-39 long")
    if not REPO_RE.match(repo) or repo in (".", ".."):
        raise InvalidSource(f"invalid GitHub repository {repo!r}: letters, digits, '.', '_', '-'")
    path = _validated_path(path)
    ref = _validated_ref(ref)
    return Source(SourceKind.GITHUB, owner=owner, repo=repo, path=path, ref=ref)


# -- git sources (SPEC section 12) -------------------------------------------------------------

GIT_SCHEMES = ("git+https://", "git+file://")
# One segment of a repository's path on a host or on disk. A leading '-' would read as an option
# to git, '%' could smuggle anything past these checks once decoded, so neither is accepted.
_GIT_SEGMENT = re.compile(r"^[A-Za-z0-9_.~+][A-Za-z0-9_.~+-]{0,99}$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
MAX_URL_LENGTH = 400


def _parse_git(raw: str) -> Source:
    """`git+https://HOST/PATH/REPO.git//sub/path@ref` or `git+file:///abs/repo//sub/path@ref`."""
    scheme = _git_scheme(raw)
    authority, slash, location = raw[len(scheme) :].partition("/")
    if not slash:
        raise InvalidSource("a git source must name a repository path")
    repo_part, inner, ref = _split_git_location(location)
    if "@" in repo_part or "@" in inner or "@" in authority:
        raise InvalidSource("a git source must not carry credentials or a second '@'")
    segments = repo_part.rstrip("/").split("/")
    if not segments or any(not _GIT_SEGMENT.match(s) or s in (".", "..") for s in segments):
        raise InvalidSource(
            f"invalid repository path {repo_part!r}: segments of letters, digits, '.', '_', "
            "'~', '+', '-', not starting with '-', no '..'"
        )
    path = _validated_path(inner)
    if any(piece.startswith("-") for piece in path.split("/") if path):
        raise InvalidSource(f"invalid path {path!r}: no segment may start with '-'")
    ref = _validated_ref(ref)
    repo = segments[-1]
    name = repo[: -len(".git")] if repo.lower().endswith(".git") else repo
    owner = segments[-2] if len(segments) > 1 else ""
    url, host = _git_url(scheme, authority, segments, name)
    return Source(SourceKind.GIT, owner=owner, repo=name, path=path, ref=ref, url=url, host=host)


def _git_scheme(raw: str) -> str:
    """The source's scheme, once the characters a git source may not hold are refused."""
    lowered = raw[:12].lower()
    scheme = next((s for s in GIT_SCHEMES if lowered.startswith(s)), None)
    if scheme is None:
        raise InvalidSource(
            "a git source must start with git+https:// or git+file:// "
            "(other transports are not allowed)"
        )
    if _CONTROL.search(raw) or " " in raw or "\\" in raw:
        raise InvalidSource(
            "a git source must not contain spaces, backslashes or control characters"
        )
    if "?" in raw or "#" in raw or "%" in raw:
        raise InvalidSource("a git source must not carry a query, a fragment or %-escapes")
    return scheme


def _split_git_location(location: str) -> tuple[str, str, str]:
    """(repository path, path inside it, ref) of what follows the host."""
    # The repository ends at '//' (then comes the path inside it); the ref follows the last '@'.
    repo_part, sep, inner = location.partition("//")
    tail = inner if sep else repo_part
    ref = ""
    if "@" in tail:
        tail, ref = tail.rsplit("@", 1)
        if not ref:
            raise InvalidSource("a ref after '@' must not be empty")
    if sep:
        inner = tail
    else:
        repo_part = tail
    return repo_part, inner, ref


def _git_url(scheme: str, authority: str, segments: list[str], name: str) -> tuple[str, str]:
    """(URL git reads the repository at, host with its port) of a checked repository path."""
    if scheme == "git+file://":
        if authority:
            raise InvalidSource("a git+file source must be an absolute path: git+file:///abs/repo")
        url = "file:///" + "/".join(segments)
        host = ""
    else:
        host = authority.lower()
        hostname, _, port = host.partition(":")
        if not _HOST.match(hostname) or (port and not (port.isdigit() and 0 < int(port) < 65536)):
            raise InvalidSource(f"invalid host {authority!r}")
        if len(segments) < 1 or not name:
            raise InvalidSource("a git+https source must name a repository")
        url = f"https://{host}/" + "/".join(segments)
    if len(url) > MAX_URL_LENGTH:
        raise InvalidSource(f"the repository URL is longer than {MAX_URL_LENGTH} characters")
    return url, host


@dataclass(frozen=True)
class GitPolicy:
    """Which git repositories the site may read (settings GIT_ALLOWED_HOSTS, GIT_ALLOW_LOCAL,
    GIT_LOCAL_ROOTS)."""

    allowed_hosts: frozenset[str]
    allow_local: bool
    local_roots: tuple[Path, ...] = ()
    # The site's own cache of other sources' repositories: never a source, even under a root.
    cache_dir: Path | None = None

    @classmethod
    def from_settings(cls) -> "GitPolicy":
        try:
            hosts: Iterable[str] = getattr(settings, "GIT_ALLOWED_HOSTS", ())
            allow_local = bool(getattr(settings, "GIT_ALLOW_LOCAL", False))
            roots: Iterable[str | Path] = getattr(settings, "GIT_LOCAL_ROOTS", ())
            cache: str | Path | None = getattr(settings, "GIT_CACHE_DIR", None)
        except ImproperlyConfigured:  # outside a configured site: nothing is allowed
            hosts, allow_local, roots, cache = (), False, (), None
        return cls(
            allowed_hosts=frozenset(h.strip().lower() for h in hosts if h.strip()),
            allow_local=allow_local,
            local_roots=tuple(Path(str(r).strip()).resolve() for r in roots if str(r).strip()),
            cache_dir=Path(cache).resolve() if cache else None,
        )

    def refusal(self, source: Source) -> str:
        """Why this git source may not be read, or "" when it may."""
        if source.url.startswith("file://"):
            return self._local_refusal(source.url[len("file://") :])
        hostname, _, port = source.host.partition(":")
        if source.host in self.allowed_hosts:
            return ""
        # A host listed without a port is allowed on the https port only: listing a forge
        # must not let sources make requests to any other service of that machine.
        if hostname in self.allowed_hosts and (not port or int(port) == 443):
            return ""
        return f"git host {source.host!r} is not allowed (GIT_ALLOWED_HOSTS)"

    def _local_refusal(self, path: str) -> str:
        """A local repository is read only from under one of GIT_LOCAL_ROOTS, judged by where
        the path really leads: symbolic links resolved and `..` removed first, so a link
        placed under a root cannot lead out of it. The message names only the path as written,
        never where it leads."""
        if not self.allow_local:
            return "local git repositories are not allowed (GIT_ALLOW_LOCAL)"
        real = Path(path).resolve()
        if self.cache_dir is not None and real.is_relative_to(self.cache_dir):
            # Under var/ by default, and it holds what other collections' sources fetched.
            return f"local git repository {path!r} is in the site's git cache (GIT_CACHE_DIR)"
        if any(real.is_relative_to(root) for root in self.local_roots):
            return ""
        return f"local git repository {path!r} is not under GIT_LOCAL_ROOTS"


def _allowed(source: Source, *, strict: bool) -> Source:
    refusal = GitPolicy.from_settings().refusal(source)
    if not refusal:
        return source
    if strict:
        raise InvalidSource(refusal)
    return Source(SourceKind.UNSUPPORTED)
