"""Schemathesis hooks of the OpenAPI contract run (loaded through SCHEMATHESIS_HOOKS).

Some request values have a grammar the document states in prose only, so a schema-valid case may
carry one the server rightly refuses with 400. Before such a request is sent, a value that the
grammar below says is invalid is swapped for a valid one; a value it says is valid is sent as
generated, and schemathesis checks that the site accepts it. The grammar is written here from
SPEC.md (sections 3, 12, 13), not taken from the site's own validators: a validator that wrongly
refuses valid input must show up as a failed case, not be hidden by the hook agreeing with it.
Where the specification is silent the grammar is narrow (it calls fewer values valid), so that
every value it calls valid is one a user may rightly expect to be accepted.

- an artifact's `source`: a source spec (SPEC 3, 12). Git sources are never called valid here: the
  test site allows no local repository and one git host only, a name nobody resolves (for git
  logins), so nothing leaves the machine;
- discovery's `source`: a GitHub repository the test's GitHub fake holds (a valid GitHub spec is
  sent as generated; the fake answers for it);
- a collection's `refresh_schedule`: a cron expression (SPEC 13) firing no more often than
  REFRESH_SCHEDULE_MIN_MINUTES;
- a collection's `notify_url`: an http(s) URL (the test site sets NOTIFY_ALLOW_PRIVATE) on a
  global, private or loopback address. A host *name* is replaced by 127.0.0.1, keeping the rest of
  the URL as generated, so that no generated name is looked up in the DNS;
- a collection's `credentials`: ids of credentials its owner holds (SPEC 16). No generated id is
  one, and the run may delete the one the test stores at any time: a list is always swapped for
  an empty one;
- a credential's `private_key`: an unencrypted RSA key in PEM (SPEC 16), which no generated text
  is: always swapped for one made here, once; and a git login's `host`: one of
  GIT_ALLOWED_HOSTS, which on the test site is one name nobody resolves (so that no git source
  or login reaches the network): always swapped for it. What a credential is tried on (`source`
  of its test) is a GitHub spec as for discovery: one the test's fake holds when it is not one.

An imported manifest is left as generated: see schemathesis.toml for how its one check is set.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, timedelta
from functools import cache
from itertools import pairwise
from typing import Any

import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

VALID_SOURCES = (
    "",
    "anthropics/skills/skills/pdf",
    "https://github.com/anthropics/skills/tree/main/skills/docx",
    "example-org/claude-toolbox/commands/review.md@v1.0.0",
    "./local/skills/notes",
    "https://gitlab.example.com/team/repo",
)
DISCOVERABLE = ("anthropics/skills", "example-org/claude-toolbox")
MAX_LENGTH = 1000  # the longest `source` any operation documents
VALID_SCHEDULES = ("", "@daily", "0 */6 * * *")
NOTIFY_URL = "http://127.0.0.1:9/notify"
NOTIFY_URL_MAX_LENGTH = 2000
SCHEDULE_MIN_MINUTES = 15  # the site's default, which the test leaves as it is
CONTRACT_GIT_HOST = "git.contract.invalid"  # `.invalid` never resolves (RFC 2606)
LOOPBACK = "127.0.0.1"

# -- source specs (SPEC 3) -----------------------------------------------------------------------

_OWNER = r"[A-Za-z0-9-]{1,39}"
_REPO = r"[A-Za-z0-9._-]{1,100}"
# Local paths are kept and skipped (no_upstream).
_LOCAL_PREFIXES = ("/", "./", "../", "~", "file:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A path segment: no control characters, no '/', never '.' or '..'; '@' belongs to the ref.
_SEGMENT = re.compile(r"[^\x00-\x1f\x7f-\x9f/@]+")
# A ref as git-check-ref-format allows one (the characters and sequences git forbids are out).
_REF_CHARS = re.compile(r"[^\x00-\x20\x7f~^:?*\[\\@]+")
_MAX_REF = 255
_MAX_PATH = 500


def _path_ok(path: str) -> bool:
    """A path inside a repository: segments, no leading '/', no '.' or '..', one trailing '/'."""
    if path.endswith("/"):
        path = path[:-1]
    if not path:
        return True
    if len(path) > _MAX_PATH:
        return False
    return all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in path.split("/"))


def _ref_ok(ref: str) -> bool:
    """A branch, tag or commit name as git accepts it (git-check-ref-format)."""
    return (
        0 < len(ref) <= _MAX_REF
        and _REF_CHARS.fullmatch(ref) is not None
        and ".." not in ref
        and "//" not in ref
        and not ref.startswith(("/", "-", "."))
        and not ref.endswith(("/", ".", ".lock"))
        and all(not part.startswith(".") for part in ref.split("/"))
    )


def _repo_ok(repo: str) -> bool:
    return re.fullmatch(_REPO, repo) is not None and repo not in (".", "..")


def _owner_ok(owner: str) -> bool:
    return re.fullmatch(_OWNER, owner) is not None and not owner.startswith("-")


def github_short_spec(text: str) -> bool:
    """`owner/repo[/path][@ref]`, split on the last '@'."""
    spec, at, ref = text.rpartition("@")
    if not at:
        spec, ref = text, ""
    elif not _ref_ok(ref):
        return False
    owner, slash, rest = spec.partition("/")
    if not slash:
        return False
    repo, _, path = rest.partition("/")
    return _owner_ok(owner) and _repo_ok(repo) and _path_ok(path)


def github_url_spec(text: str) -> bool:
    """`https://github.com/owner/repo[.git][/]`, `.../tree/<ref>/<path>`, `.../blob/<ref>/<path>`.

    (A tree or blob link names a path.)
    """
    match = re.fullmatch(r"https://github\.com/([^/?#]+)/([^/?#]+)(/[^?#]*)?", text)
    if match is None:
        return False
    owner, repo, tail = match[1], match[2], match[3] or ""
    repo = repo.removesuffix(".git")
    if not (_owner_ok(owner) and _repo_ok(repo)):
        return False
    if tail in ("", "/"):
        return True
    view = re.fullmatch(r"/(tree|blob)/([^/]+)/(.+)", tail)
    # A URL's path is %-encoded: what it decodes to is not checked here, so no '%' is valid.
    if view is None or "@" in view[3] or "%" in view[3]:
        return False
    path = view[3]
    if view[1] == "blob" and path.endswith("/"):
        return False  # a blob names a file
    return _ref_ok(view[2]) and "/" not in view[2] and bool(path.strip("/")) and _path_ok(path)


def git_source_form(text: str) -> str | None:
    """The host of a well-formed git source (SPEC 12), '' for `git+file`; None when malformed.

    `git+https://HOST/PATH/REPO.git//sub/path@ref` or `git+file:///abs/repo//sub/path@ref`.
    """
    match = re.fullmatch(r"git\+(https|file)://([^/@]*)(/[^@]+?)(?:@([^@]+))?", text)
    if match is None or (match[4] is not None and not _ref_ok(match[4])):
        return None
    scheme, host, location = match[1], match[2], match[3]
    repo_part, _, inner = location[1:].partition("//")
    segments = repo_part.rstrip("/").split("/")
    if not all(re.fullmatch(r"[A-Za-z0-9_.~+][A-Za-z0-9_.~+-]{0,99}", s) for s in segments):
        return None
    if any(s in (".", "..") for s in segments) or not _path_ok(inner):
        return None
    if scheme == "file":
        return "" if not host else None
    return host if host_name(host.partition(":")[0]) else None


def other_host_url(text: str) -> bool:
    """An http(s) URL of a host other than github.com: kept, and skipped (unsupported_source)."""
    parts = url_parts(text)
    return parts is not None and parts[1].lower() not in ("github.com", "www.github.com")


def source_valid(text: str, *, git_hosts: frozenset[str] = frozenset()) -> bool:
    """Whether a site with these git hosts (and no local git) must accept `text` as a source."""
    if text == "":
        return True
    if text != text.strip() or _CONTROL.search(text):
        return False
    if text.lower().startswith("git+"):
        host = git_source_form(text)
        return host is not None and host != "" and host in git_hosts
    if text.startswith(_LOCAL_PREFIXES):
        return True
    if "://" in text:
        return github_url_spec(text) or other_host_url(text)
    return github_short_spec(text)


def github_spec(text: str) -> bool:
    """A valid GitHub source (the only kind discovery reads)."""
    return github_short_spec(text) or github_url_spec(text)


# -- URLs (RFC 3986, http and https only) --------------------------------------------------------

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PCHARS = r"A-Za-z0-9\-._~!$&'()*+,;=:@"
_URL = re.compile(
    r"(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?)://"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)"
    r"(?::(?P<port>[1-9][0-9]{0,4}))?"
    rf"(?P<rest>(?:/(?:[{_PCHARS}]|%[0-9A-Fa-f]{{2}})*)*"
    rf"(?:\?(?:[{_PCHARS}/?]|%[0-9A-Fa-f]{{2}})*)?"
    rf"(?:#(?:[{_PCHARS}/?]|%[0-9A-Fa-f]{{2}})*)?)"
)


def host_name(host: str) -> bool:
    """A DNS name: labels of letters, digits and inner '-', with a letter in the last one."""
    labels = host.split(".")
    return (
        len(host) <= 253
        and all(re.fullmatch(_LABEL, label) for label in labels)
        and not labels[-1].isdigit()
    )


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        if host.startswith("["):
            return ipaddress.IPv6Address(host[1:-1])
        if re.fullmatch(r"(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}", host):
            return ipaddress.IPv4Address(host)
    except ValueError:
        return None
    return None


def url_parts(text: str) -> tuple[str, str, int | None, str] | None:
    """(scheme, host, port, rest) of an http(s) URL without credentials; None otherwise."""
    match = _URL.fullmatch(text)
    if match is None:
        return None
    port = int(match["port"]) if match["port"] else None
    if port is not None and port > 65535:
        return None
    host = match["host"]
    if _ip_literal(host) is None and not host_name(host):
        return None
    return match["scheme"], host, port, match["rest"]


_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def _reachable_with_private_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global, private (RFC 1918, unique local) or loopback: what NOTIFY_ALLOW_PRIVATE allows."""
    if isinstance(address, ipaddress.IPv6Address) and (
        address.ipv4_mapped or address.sixtofour or address.teredo
    ):
        return False  # forms embedding an IPv4 address (SPEC 18): left to the unit tests
    if address.is_multicast or address.is_link_local or address.is_unspecified:
        return False
    return (
        address.is_loopback
        or address.is_global
        or any(address in net for net in _PRIVATE_NETWORKS if net.version == address.version)
    )


def notify_url_valid(text: str) -> bool:
    """An http(s) URL the test site must accept as `notify_url` (its host an IP literal)."""
    if text == "":
        return True
    parts = url_parts(text)
    if parts is None:
        return False
    address = _ip_literal(parts[1])
    return address is not None and _reachable_with_private_allowed(address)


def without_host_name(text: str) -> str:
    """`text` with a DNS host name replaced by 127.0.0.1 (no generated name is ever resolved)."""
    parts = url_parts(text)
    if parts is None or _ip_literal(parts[1]) is not None:
        return text
    scheme, _, port, rest = parts
    return f"{scheme}://{LOOPBACK}" + (f":{port}" if port else "") + rest


# -- schedules (SPEC 13) -------------------------------------------------------------------------

_ALIASES = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0"}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (low, high, names) of minute, hour, day of month, month, day of week.
_FIELDS: tuple[tuple[int, int, list[str]], ...] = (
    (0, 59, []),
    (0, 23, []),
    (1, 31, []),
    (1, 12, _MONTHS),
    (0, 7, _DAYS),
)


def _value(text: str, low: int, high: int, names: list[str]) -> int | None:
    if text.lower() in names:
        return names.index(text.lower()) + (1 if names is _MONTHS else 0)
    if re.fullmatch(r"0|[1-9][0-9]?", text) and low <= int(text) <= high:
        return int(text)
    return None


def _cron_field(text: str, low: int, high: int, names: list[str]) -> set[int] | None:
    """The values a cron field names: lists of `*`, `a`, `a-b`, with `/step`; None if invalid."""
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not re.fullmatch(r"[1-9][0-9]?", step_text) or int(step_text) > high:
                return None
            step = int(step_text)
        if base == "*":
            start, end = low, high
        else:
            first, dash, last = base.partition("-")
            start_value = _value(first, low, high, names)
            end_value = _value(last, low, high, names) if dash else start_value
            if start_value is None or end_value is None or end_value < start_value:
                return None
            if slash and not dash:
                return None  # `a/n` is not standard cron
            start, end = start_value, end_value
        values.update(range(start, end + 1, step))
    return values


def _firing_days(dom: set[int], months: set[int], dow: set[int], both: bool) -> list[date]:
    """The days over eight years (every weekday of every leap day) a schedule fires on."""
    day, days = date(2026, 1, 1), []
    for _ in range(366 * 8):
        dom_hit, dow_hit = day.day in dom, day.isoweekday() % 7 in dow
        if day.month in months and ((dom_hit or dow_hit) if both else (dom_hit and dow_hit)):
            days.append(day)
        day += timedelta(days=1)
    return days


def schedule_period(text: str) -> int | None:
    """The shortest gap in minutes between two firings of a schedule; None when it is invalid."""
    expression = _ALIASES.get(text, text)
    fields = expression.split(" ")
    if len(fields) != 5:
        return None
    parsed = [_cron_field(f, *spec) for f, spec in zip(fields, _FIELDS, strict=True)]
    if any(p is None for p in parsed):
        return None
    minutes, hours, dom, months, dow = (p or set() for p in parsed)
    dow = {d % 7 for d in dow}
    # Cron's rule: with both day fields restricted, a day matching either one fires.
    both = not fields[2].startswith("*") and not fields[4].startswith("*")
    days = _firing_days(dom, months, dow, both)
    if not days:
        return None  # never fires
    times = sorted(h * 60 + m for h in hours for m in minutes)
    gaps = [b - a for a, b in pairwise(times)]
    overnight = [(b - a).days * 1440 - times[-1] + times[0] for a, b in pairwise(days)]
    return min(gaps + overnight, default=None)


def schedule_valid(text: str, *, min_minutes: int = SCHEDULE_MIN_MINUTES) -> bool:
    """Empty, an alias, or five single-space-separated cron fields firing at most that often."""
    if text == "":
        return True
    if text.startswith("@") and text not in _ALIASES:
        return False
    period = schedule_period(text)
    # A schedule with one firing in eight years has no period to measure: narrow, not valid.
    return period is not None and period >= min_minutes


# -- the hook ------------------------------------------------------------------------------------


def _schema_valid_text(value: Any, max_length: int = MAX_LENGTH) -> bool:
    return isinstance(value, str) and len(value) <= max_length and "\x00" not in value


def _swap_keep_fresh_settings(body: dict[str, Any]) -> None:
    schedule = body.get("refresh_schedule")
    if _schema_valid_text(schedule) and not schedule_valid(schedule):
        body["refresh_schedule"] = VALID_SCHEDULES[len(schedule) % len(VALID_SCHEDULES)]
    url = body.get("notify_url")
    if _schema_valid_text(url, NOTIFY_URL_MAX_LENGTH):
        url = without_host_name(url)
        body["notify_url"] = url if notify_url_valid(url) else NOTIFY_URL


@cache
def _app_key() -> str:
    """An App private key as GitHub gives it (the hooks run without Django, so made here)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _swap_credential_values(body: dict[str, Any]) -> None:
    if _schema_valid_text(body.get("private_key"), 16_384):
        body["private_key"] = _app_key()
    if _schema_valid_text(body.get("host"), 300) and body.get("host"):
        body["host"] = CONTRACT_GIT_HOST
    source = body.get("source")  # what a credential is tried on: any repository spec
    if _schema_valid_text(source, 500) and not github_spec(source):
        body["source"] = DISCOVERABLE[len(source) % len(DISCOVERABLE)]


def _swap_collection_credentials(body: dict[str, Any]) -> None:
    listed = body.get("credentials")
    if isinstance(listed, list) and listed and all(isinstance(i, str) for i in listed):
        body["credentials"] = []


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    path = case.operation.path
    body = case.body
    if isinstance(body, dict) and path.startswith("/api/v1/collections/"):
        _swap_keep_fresh_settings(body)
        _swap_collection_credentials(body)
    if isinstance(body, dict) and path.startswith("/api/v1/credentials/"):
        _swap_credential_values(body)
        return
    if not isinstance(body, dict) or not _schema_valid_text(body.get("source")):
        return  # no source, or one the schema refuses: a negative case, sent as generated
    source = body["source"]
    if path.endswith("/discover/"):
        if not github_spec(source):
            body["source"] = DISCOVERABLE[len(source) % len(DISCOVERABLE)]
    elif not source_valid(source):
        body["source"] = VALID_SOURCES[len(source) % len(VALID_SOURCES)]
