"""A collection as a Claude Code plugin marketplace manifest (SPEC 15): plain rows in, a dict out.

Pure Python (no Django, no database, no settings): `rows.py` reads the collection and its
artifacts in a fixed number of queries and hands them here as `CollectionRow` and `ArtifactRow`;
`build` decides which artifacts become plugins, under which names, from which commit. What it
returns is what `marketplace.json` holds, and what the summary and the admin count.

Every plugin is pinned: its source names the commit the collection last synced (`resolved_sha`),
so what Claude Code installs is what the team reviewed and synced, and a rollback takes it back.
"""

import json
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from hashlib import sha256
from typing import Literal, NotRequired, TypedDict

from collections_app.marketplace.names import MAX_NAME_LENGTH, fit, marketplace_name, safe_name
from refresher.json_types import JSON

# Why an artifact is not in the manifest.
NO_UPSTREAM = "no_upstream"  # no source, or a local one
UNSUPPORTED_SOURCE = "unsupported_source"  # a host or repository the site does not read
INVALID_SOURCE = "invalid_source"  # a stored source that no longer parses
NOT_SYNCED = "not_synced"  # never synced: no commit to pin
NO_CONFIGURATION = "no_configuration"  # a hook or MCP artifact whose file holds no config
MODIFIED_LOCALLY = "modified_locally"  # a hook or MCP config edited since it was synced
OMISSION_REASONS = (
    NO_UPSTREAM,
    UNSUPPORTED_SOURCE,
    INVALID_SOURCE,
    NOT_SYNCED,
    NO_CONFIGURATION,
    MODIFIED_LOCALLY,
)

SourceKind = Literal["github", "git", "none", "local", "unsupported", "invalid"]
ConfigState = Literal["synced", "modified", "unsynced"]
CONFIG_EXTENSIONS = (".json", ".yaml", ".yml")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_FILE_EXTENSIONS = (".md", *CONFIG_EXTENSIONS)


class CollectionRow(TypedDict):
    name: str
    owner: str
    description: str
    version: str


class ArtifactRow(TypedDict):
    """One artifact as the manifest needs it; `clone_url` is resolved from the site's settings."""

    id: str
    type: str
    name: str
    kind: SourceKind
    clone_url: str
    path: str
    ref: str
    ref_is_sha: bool
    resolved_sha: str
    description: str
    author: str
    license: str
    tags: list[str]
    topics: list[str]
    # Hooks and MCP configs only (others: "synced" and None). Whether the stored main file is
    # the one sync wrote ("synced"), was edited since ("modified") or was never written by a
    # sync ("unsynced"); and the file parsed within the site's bounds (None: it does not parse).
    config_state: ConfigState
    config: JSON


class PluginSource(TypedDict):
    source: Literal["git-subdir", "url"]
    url: str
    path: NotRequired[str]
    sha: str
    ref: NotRequired[str]


class Author(TypedDict):
    name: str


class Plugin(TypedDict):
    name: str
    description: NotRequired[str]
    author: NotRequired[Author]
    license: NotRequired[str]
    keywords: NotRequired[list[str]]
    category: str
    source: PluginSource
    strict: bool
    skills: NotRequired[list[str]]
    agents: NotRequired[list[str]]
    commands: NotRequired[list[str]]
    hooks: NotRequired[dict[str, JSON]]
    mcpServers: NotRequired[dict[str, JSON]]


class Metadata(TypedDict):
    version: str


class Manifest(TypedDict):
    name: str
    owner: Author
    description: str
    metadata: NotRequired[Metadata]
    plugins: list[Plugin]


class Omitted(TypedDict):
    artifact_id: str
    type: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Marketplace:
    """What a collection offers Claude Code: the manifest, and the artifacts left out of it."""

    manifest: Manifest
    omitted: list[Omitted]

    def body(self) -> bytes:
        """The manifest as served: the same rows give the same bytes (and so the same ETag)."""
        return json.dumps(self.manifest, ensure_ascii=False, indent=2).encode() + b"\n"

    def etag(self) -> str:
        return etag_of(self.body())


def etag_of(body: bytes) -> str:
    """A strong ETag of the bytes served."""
    return '"' + sha256(body).hexdigest()[:32] + '"'


def build(collection: CollectionRow, artifacts: list[ArtifactRow]) -> Marketplace:
    """The marketplace of a collection: one plugin per pinnable artifact, by type then name."""
    ordered = sorted(artifacts, key=lambda a: (a["type"], a["name"], a["id"]))
    pinned: list[tuple[ArtifactRow, dict[str, JSON]]] = []
    omitted: list[Omitted] = []
    for artifact in ordered:
        config = component_config(artifact)
        reason = reason_of(artifact, config)
        if reason or config is None:
            omitted.append(
                Omitted(
                    artifact_id=artifact["id"],
                    type=artifact["type"],
                    name=artifact["name"],
                    reason=reason,
                )
            )
        else:
            pinned.append((artifact, config))
    names = plugin_names([a for a, _ in pinned])
    plugins = [plugin(a, names[a["id"]], config) for a, config in pinned]
    manifest = Manifest(
        name=marketplace_name(collection["name"], collection["owner"]),
        owner=Author(name=collection["owner"]),
        description=collection["description"].strip()
        or f"The {collection['name']} collection of {collection['owner']}.",
        plugins=plugins,
    )
    if collection["version"]:
        manifest["metadata"] = Metadata(version=collection["version"])
    return Marketplace(manifest=manifest, omitted=omitted)


def reason_of(artifact: ArtifactRow, config: dict[str, JSON] | None) -> str:
    """Why the artifact is left out of the manifest, or "" when it is a plugin (`config` is
    its `component_config`)."""
    return omission(artifact) or ("" if config is not None else NO_CONFIGURATION)


def omission(artifact: ArtifactRow) -> str:
    """Why the artifact cannot be pinned, or "" when it can."""
    kind = artifact["kind"]
    if kind in ("none", "local"):
        return NO_UPSTREAM
    if kind == "invalid":
        return INVALID_SOURCE
    if kind == "unsupported" or not artifact["clone_url"]:
        return UNSUPPORTED_SOURCE
    if not _SHA.match(artifact["resolved_sha"]):  # never synced (or a pin no commit has)
        return NOT_SYNCED
    # An inlined configuration is served from the site's copy, not fetched at the pin: only the
    # copy sync wrote may be served, never one edited since (or never synced at all).
    if artifact["config_state"] == "unsynced":
        return NOT_SYNCED
    if artifact["config_state"] == "modified":
        return MODIFIED_LOCALLY
    return ""


def plugin_names(artifacts: list[ArtifactRow]) -> dict[str, str]:
    """Each artifact's plugin name, unique in the manifest.

    Names that collide take a `-<type>` suffix (all of them, so no one keeps the bare name by
    the luck of the order); names that still collide (one type, names alike once in
    kebab-case) take a short digest of the artifact's own name as well, which stays the same
    while the artifact keeps its name.
    """
    names = {a["id"]: safe_name(a["name"], fallback=a["type"]) for a in artifacts}
    for suffix in (_type_suffix, _digest_suffix):
        counts = Counter(names.values())
        for artifact in artifacts:
            name = names[artifact["id"]]
            if counts[name] > 1:
                tail = suffix(artifact)
                names[artifact["id"]] = fit(name, MAX_NAME_LENGTH - len(tail)) + tail
    return names


def _type_suffix(artifact: ArtifactRow) -> str:
    return f"-{artifact['type']}"


def _digest_suffix(artifact: ArtifactRow) -> str:
    return "-" + sha256(f"{artifact['type']}:{artifact['name']}".encode()).hexdigest()[:6]


def plugin(artifact: ArtifactRow, name: str, config: dict[str, JSON]) -> Plugin:
    """The marketplace entry of one pinnable artifact."""
    entry = Plugin(
        name=name, category=artifact["type"], source=plugin_source(artifact), strict=False
    )
    if artifact["description"].strip():
        entry["description"] = artifact["description"].strip()
    if artifact["author"].strip():
        entry["author"] = Author(name=artifact["author"].strip())
    if artifact["license"].strip():
        entry["license"] = artifact["license"].strip()
    keywords = list(dict.fromkeys(k.strip() for k in artifact["tags"] + artifact["topics"]))
    keywords = [k for k in keywords if k]
    if keywords:
        entry["keywords"] = keywords
    kind = artifact["type"]
    if kind == "hook":
        entry["hooks"] = config
    elif kind == "mcp":
        entry["mcpServers"] = config
    else:
        component = "./" if kind == "skill" else f"./{main_file(artifact)}"
        if kind == "skill":
            entry["skills"] = [component]
        elif kind == "agent":
            entry["agents"] = [component]
        else:
            entry["commands"] = [component]
    return entry


def directory(artifact: ArtifactRow) -> str:
    """The directory the plugin is: a skill's own, the one holding any other artifact's file."""
    path = artifact["path"]
    if artifact["type"] == "skill":
        return posixpath.dirname(path) if path.lower().endswith(".md") else path
    if path.lower().endswith(_FILE_EXTENSIONS):
        return posixpath.dirname(path)
    return path


def main_file(artifact: ArtifactRow) -> str:
    """An agent's or command's file, relative to `directory`: the file named, or `<TYPE>.md`."""
    path = artifact["path"]
    if path.lower().endswith(".md"):
        return posixpath.basename(path)
    return f"{artifact['type'].upper()}.md"


def plugin_source(artifact: ArtifactRow) -> PluginSource:
    """Where Claude Code fetches the plugin: the artifact's directory at the pinned commit.

    A skill that is a whole repository is fetched whole (`url`): Claude Code's `git-subdir` of
    the root (`path: "."`) checks out the root's files without its subdirectories, which would
    leave out the skill's scripts and references. Files at the root lose nothing that way.
    """
    where = directory(artifact)
    source = PluginSource(
        source="git-subdir", url=artifact["clone_url"], sha=artifact["resolved_sha"]
    )
    if not where and artifact["type"] == "skill":
        source["source"] = "url"
    else:
        source["path"] = where or "."
    if artifact["ref"] and not artifact["ref_is_sha"]:
        source["ref"] = artifact["ref"]
    return source


def component_config(artifact: ArtifactRow) -> dict[str, JSON] | None:
    """A hook's event map or an MCP config's server map, from the stored main file; None when
    the file holds none (a Markdown page, broken JSON, past the parser's bounds). Other types
    need no configuration."""
    kind = artifact["type"]
    if kind not in ("hook", "mcp"):
        return {}
    if not artifact["path"].lower().endswith(CONFIG_EXTENSIONS):
        return None
    document = artifact["config"]
    if not isinstance(document, dict):
        return None
    # A plugin's `hooks/hooks.json` and a settings file wrap the events in `hooks`; a `.mcp.json`
    # wraps the servers in `mcpServers`. The marketplace entry takes the bare map.
    wrapper = "hooks" if kind == "hook" else "mcpServers"
    inner = document.get(wrapper)
    found = inner if isinstance(inner, dict) else document
    if kind == "hook":
        return found if _is_event_map(found) else None
    return found if found and all(isinstance(v, dict) for v in found.values()) else None


def _is_event_map(value: dict[str, JSON]) -> bool:
    return bool(value) and all(
        isinstance(matchers, list) and matchers and all(isinstance(m, dict) for m in matchers)
        for matchers in value.values()
    )
