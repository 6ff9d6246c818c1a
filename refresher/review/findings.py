"""Findings: what a reviewer should look at in an artifact's new version (SPEC 17).

`scan(old, new)` compares the version an artifact holds with the one upstream offers and says
what in it can run code, widen what the model may do, or hide text from a reader. Pure: it reads
only the texts and file listings it is given, so a sync can afford it for every artifact.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal, TypedDict

from refresher.exceptions import MetadataError
from refresher.frontmatter import parse_config, parse_markdown
from refresher.review.execution import (
    Document,
    hook_commands,
    mcp_servers,
    parse_tools,
    tools_key,
    widened,
)
from refresher.review.hidden import Hidden, escaped_hidden_characters, hidden_characters

type Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
RANK: dict[str, int] = {"high": 3, "medium": 2, "low": 1, "none": 4}
# A hostile file could hold a hidden character on every line: past this many lines per file the
# rest are summed up in one more finding.
MAX_LINES_PER_FILE = 50
MAX_NEW_HOSTS = 20
EXECUTABLE_MODE = "100755"
SCRIPT_EXTENSIONS = frozenset(
    (
        ".sh", ".bash", ".zsh", ".fish", ".ksh", ".csh", ".py", ".pyw", ".js", ".mjs", ".cjs",
        ".ts", ".mts", ".cts", ".rb", ".pl", ".pm", ".php", ".lua", ".ps1", ".psm1", ".bat",
        ".cmd", ".vbs", ".exe", ".bin", ".jar", ".applescript", ".scpt", ".swift", ".go", ".rs",
    )
)  # fmt: skip
_URL = re.compile(r"\bhttps?://(\[[0-9a-fA-F:.]+\]|[^\s/?#<>\"'`)\[\]}|\\]+)", re.IGNORECASE)


class Finding(TypedDict):
    """One thing a reviewer should look at; `line` is 1-based in the new text, or None."""

    code: str
    severity: Severity
    path: str
    line: int | None
    message: str


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file of the artifact at one version: its git mode and blob SHA."""

    mode: str
    sha: str


@dataclass(frozen=True, slots=True)
class Version:
    """One version of an artifact as the scanner sees it.

    `files` are the files under a directory artifact by path in the repository (None for a file
    artifact, or where they are not known); `meta` is the parsed document when the caller has
    it already (the main file is parsed again otherwise).
    """

    kind: str
    main_file: str
    text: str
    files: Mapping[str, FileEntry] | None = None
    meta: Document | None = None


def at_or_above(findings: list[Finding], threshold: str) -> list[Finding]:
    """The findings whose severity is `threshold` or worse (`none` holds nothing back)."""
    floor = RANK.get(threshold, RANK["none"])
    return [f for f in findings if RANK[f["severity"]] >= floor]


def scan(old: Version | None, new: Version) -> list[Finding]:
    """Everything worth a reviewer's eye in `new`, judged against `old` (None: a first version)."""
    findings = _hidden(new)
    new_doc = _document(new)
    old_doc = _document(old) if old is not None else {}
    if new_doc is not None:
        findings += _hooks(old_doc or {}, new_doc, new)
        findings += _mcp(old_doc or {}, new_doc, new)
        findings += _tools(old_doc, new_doc, new, had_old=old is not None)
    findings += _scripts(old, new)
    findings += _new_hosts(old.text if old is not None else "", new)
    return findings


def _document(version: Version | None) -> Document | None:
    """The main file's parsed metadata, or None when it does not parse (nothing to compare)."""
    if version is None:
        return None
    if version.meta is not None:
        return version.meta
    name = version.main_file.lower()
    try:
        if name.endswith((".json", ".yaml", ".yml")):
            return parse_config(version.text, filename=name).meta
        return parse_markdown(version.text).meta
    except MetadataError:
        return None


def _finding(code: str, severity: Severity, path: str, line: int | None, message: str) -> Finding:
    return {"code": code, "severity": severity, "path": path, "line": line, "message": message}


def _hidden(new: Version) -> list[Finding]:
    found: list[Hidden] = hidden_characters(new.text)
    name = new.main_file.lower()
    if name.endswith((".json", ".yaml", ".yml")):
        found += escaped_hidden_characters(new.text)
    elif new.text.startswith("---"):
        found += escaped_hidden_characters(new.text, lines=range(1, _frontmatter_end(new.text)))
    found.sort(key=lambda h: h.line)
    findings = [
        _finding(
            "hidden_unicode",
            "high",
            new.main_file,
            h.line,
            ("Escapes that decode to hidden characters: " if h.escaped else "Hidden characters: ")
            + h.describe(),
        )
        for h in found[:MAX_LINES_PER_FILE]
    ]
    if len(found) > MAX_LINES_PER_FILE:
        rest = len(found) - MAX_LINES_PER_FILE
        findings.append(
            _finding(
                "hidden_unicode",
                "high",
                new.main_file,
                found[MAX_LINES_PER_FILE].line,
                f"Hidden characters on {rest} more lines.",
            )
        )
    return findings


def _frontmatter_end(text: str) -> int:
    """The 1-based line of a Markdown file's closing frontmatter fence (or the first line)."""
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if line.strip() in ("---", "..."):
            return number
    return 1


def line_of(text: str, needle: str) -> int | None:
    """The first line holding `needle` as written, JSON-escaped, or its first line alone."""
    if not needle:
        return None
    head = needle.splitlines()[0] if needle.strip() else needle
    candidates = [needle, json.dumps(needle)[1:-1], head, json.dumps(head)[1:-1]]
    for candidate in candidates:
        index = text.find(candidate) if candidate else -1
        if index >= 0:
            return text.count("\n", 0, index) + 1
    return None


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _hooks(old: Document, new: Document, version: Version) -> list[Finding]:
    before = {(h.event, h.matcher, h.command) for h in hook_commands(old)}
    findings = []
    for hook in hook_commands(new):
        changed = (hook.event, hook.matcher, hook.command) not in before
        where = f"{hook.event}" + (f" ({hook.matcher})" if hook.matcher else "")
        verb = "New or changed hook" if changed else "Hook"
        findings.append(
            _finding(
                "hook_command",
                "high" if changed else "medium",
                version.main_file,
                line_of(version.text, hook.command),
                f"{verb} on {where} runs a command: {_short(hook.command)}",
            )
        )
    return findings


def _mcp(old: Document, new: Document, version: Version) -> list[Finding]:
    before = mcp_servers(old)
    findings = []
    for name, server in mcp_servers(new).items():
        previous = before.get(name)
        if previous == server:
            continue
        label = f"MCP server {name!r}" if name else "The MCP server"
        if previous is None:
            message = f"{label} is new and starts: {_short(server.describe())}"
        else:
            message = (
                f"{label} changed what it starts: {_short(previous.describe())} -> "
                f"{_short(server.describe())}"
            )
            if previous.env != server.env and previous.describe() == server.describe():
                message = f"{label} changed environment that decides what runs: " + ", ".join(
                    k for k, _ in server.env or previous.env
                )
        needle = server.command or server.url
        findings.append(
            _finding(
                "mcp_command_changed",
                "high",
                version.main_file,
                line_of(version.text, needle),
                message,
            )
        )
    return findings


def _tools(
    old: Document | None, new: Document, version: Version, *, had_old: bool
) -> list[Finding]:
    key = tools_key(version.kind)
    keys = (key, "allowed_tools") if key == "allowed-tools" else (key,)

    def grants(document: Document | None) -> object:
        return next((document[k] for k in keys if document and k in document), None)

    if had_old and old is None:
        return []  # the old version did not parse: nothing to compare against
    added = widened(version.kind, parse_tools(grants(old)), parse_tools(grants(new)))
    if not added:
        return []
    line = line_of(version.text, f"{key}:")
    return [
        _finding(
            "tools_widened",
            "medium",
            version.main_file,
            line,
            f"`{key}` now allows: {_short(', '.join(added), 400)}",
        )
    ]


def is_script(path: str, entry: FileEntry) -> bool:
    return entry.mode == EXECUTABLE_MODE or PurePosixPath(path).suffix.lower() in SCRIPT_EXTENSIONS


def _scripts(old: Version | None, new: Version) -> list[Finding]:
    if new.files is None or (old is not None and old.files is None):
        return []  # a file artifact, or the old files are not known
    before = old.files if old is not None and old.files is not None else {}
    findings = []
    for path, entry in sorted(new.files.items()):
        if path == new.main_file or not is_script(path, entry):
            continue
        previous = before.get(path)
        if previous == entry:
            continue
        if previous is None:
            what = "Executable file added" if entry.mode == EXECUTABLE_MODE else "Script added"
        elif previous.sha == entry.sha:
            what = "File became executable"
        else:
            what = "Script changed"
        findings.append(_finding("script_changed", "medium", path, None, f"{what}: {path}"))
    return findings


def url_hosts(text: str) -> dict[str, int]:
    """Hosts of the http(s) URLs in `text`, lower-cased, with the line each first appears on."""
    hosts: dict[str, int] = {}
    for match in _URL.finditer(text):
        authority = match.group(1).rsplit("@", 1)[-1]
        host = authority.rsplit(":", 1)[0] if not authority.startswith("[") else authority
        host = host.lower().rstrip(".,;:")
        if host and host not in hosts:
            hosts[host] = text.count("\n", 0, match.start()) + 1
    return hosts


def _new_hosts(old_text: str, new: Version) -> list[Finding]:
    before = url_hosts(old_text)
    fresh = [(host, line) for host, line in url_hosts(new.text).items() if host not in before]
    findings = [
        _finding("new_url_host", "low", new.main_file, line, f"Links to a new host: {host}")
        for host, line in fresh[:MAX_NEW_HOSTS]
    ]
    if len(fresh) > MAX_NEW_HOSTS:
        more = ", ".join(host for host, _ in fresh[MAX_NEW_HOSTS : MAX_NEW_HOSTS + 10])
        findings.append(
            _finding(
                "new_url_host",
                "low",
                new.main_file,
                fresh[MAX_NEW_HOSTS][1],
                f"Links to {len(fresh) - MAX_NEW_HOSTS} more new hosts: {more}",
            )
        )
    return findings
