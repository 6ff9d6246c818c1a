"""What an artifact makes Claude Code run or allow: hook commands, MCP servers, tool grants.

Read from the main file's parsed document (a JSON or YAML config's top level, a Markdown file's
frontmatter), in the shapes Claude Code reads them:

- hooks: `{"hooks": {"<Event>": [{"matcher": "...", "hooks": [{"type": "command",
  "command": "..."}]}]}}` in a hooks file or settings, or `hooks:` in a skill's or agent's
  frontmatter;
- MCP servers: `{"mcpServers": {"<name>": {"command", "args", "env"} | {"type", "url"}}}`, or a
  single server's object, or a bare mapping of servers;
- tools: `allowed-tools` (skills, commands: granted without asking) and `tools` (agents: the only
  tools the agent has; none listed means every tool), as a comma- or space-separated string or a
  list, entries like `Read` or `Bash(git status:*)`.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

type Document = Mapping[str, object]

# Environment variables that change what a server process runs or loads, not only how it is
# configured; a change to one is a change of the command.
EXECUTION_ENV = frozenset(
    {
        "BASH_ENV",
        "DYLD_INSERT_LIBRARIES",
        "ENV",
        "JAVA_TOOL_OPTIONS",
        "LD_LIBRARY_PATH",
        "LD_PRELOAD",
        "NODE_OPTIONS",
        "PATH",
        "PERL5OPT",
        "PYTHONPATH",
        "PYTHONSTARTUP",
        "RUBYOPT",
    }
)


@dataclass(frozen=True, slots=True)
class HookCommand:
    event: str
    matcher: str
    command: str


def hook_commands(document: Document) -> list[HookCommand]:
    """Every command hook in the document, in document order."""
    table = document.get("hooks")
    events = table if isinstance(table, Mapping) else document
    found: list[HookCommand] = []
    for event, groups in events.items():
        if not isinstance(event, str) or not isinstance(groups, list):
            continue
        for group in groups:
            if not isinstance(group, Mapping):
                continue
            matcher = group.get("matcher")
            hooks = group.get("hooks")
            # A group may also be a single hook written without the inner list.
            for hook in hooks if isinstance(hooks, list) else [group]:
                command = _command_of(hook)
                if command is not None:
                    found.append(HookCommand(event, str(matcher or ""), command))
    return found


def _command_of(hook: object) -> str | None:
    if not isinstance(hook, Mapping):
        return None
    command = hook.get("command")
    kind = hook.get("type", "command")
    if kind != "command" or not isinstance(command, str) or not command.strip():
        return None
    return command


@dataclass(frozen=True, slots=True)
class Server:
    """What starting an MCP server runs: a command line, or a remote URL."""

    name: str
    command: str
    args: tuple[str, ...]
    url: str
    env: tuple[tuple[str, str], ...]  # only EXECUTION_ENV entries

    def describe(self) -> str:
        if self.url and not self.command:
            return self.url
        return " ".join([self.command, *self.args]).strip()


def mcp_servers(document: Document) -> dict[str, Server]:
    """The MCP servers a config starts, by name ('' for a file holding a single server)."""
    servers = document.get("mcpServers")
    if not isinstance(servers, Mapping):
        if _is_server(document):
            servers = {"": document}
        elif document and all(_is_server(v) for v in document.values()):
            servers = document
        else:
            return {}
    found: dict[str, Server] = {}
    for name, value in servers.items():
        if isinstance(name, str) and _is_server(value):
            assert isinstance(value, Mapping)
            found[name] = _server(name, value)
    return found


def _is_server(value: object) -> bool:
    return isinstance(value, Mapping) and (
        isinstance(value.get("command"), str) or isinstance(value.get("url"), str)
    )


def _server(name: str, value: Mapping[str, object]) -> Server:
    args = value.get("args")
    env = value.get("env")
    return Server(
        name=name,
        command=_text(value.get("command")),
        args=tuple(_text(a) for a in args) if isinstance(args, list) else (),
        url=_text(value.get("url")),
        env=tuple(
            sorted(
                (str(k), _text(v))
                for k, v in (env.items() if isinstance(env, Mapping) else ())
                if str(k).upper() in EXECUTION_ENV
            )
        ),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


# -- tools ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool grant: a name and, for `Name(spec)`, the pattern it is limited to."""

    name: str
    spec: str | None = None

    def __str__(self) -> str:
        return self.name if self.spec is None else f"{self.name}({self.spec})"

    def covers(self, other: "Tool") -> bool:
        """Whether this grant already allows everything `other` allows."""
        if self.name != other.name:
            return False
        if self.spec is None:
            return True
        if other.spec is None:
            return False
        return bool(_glob(_normal(self.spec)).fullmatch(_normal(other.spec)))


def _normal(spec: str) -> str:
    # `Bash(npm run test:*)` is the older spelling of `Bash(npm run test *)`: a prefix.
    return spec[:-2] + "*" if spec.endswith(":*") else spec


def _glob(pattern: str) -> re.Pattern[str]:
    # Only `*` is a wildcard in a permission pattern; `**` matches the same here.
    return re.compile(".*".join(re.escape(part) for part in re.split(r"\*+", pattern)), re.DOTALL)


def parse_tools(value: object) -> tuple[Tool, ...] | None:
    """The grants a `tools` / `allowed-tools` value lists; None when the key is absent."""
    if value is None:
        return None
    items: list[str] = []
    if isinstance(value, str):
        items = _split_tools(value)
    elif isinstance(value, list):
        for item in value:
            items.extend(_split_tools(_text(item)))
    else:
        items = _split_tools(_text(value))
    return tuple(_tool(item) for item in items)


def _split_tools(text: str) -> list[str]:
    """Entries separated by commas or spaces outside parentheses (`Bash(git add:*), Read`)."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if depth == 0 and (char == "," or char.isspace()):
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def _tool(item: str) -> Tool:
    match = re.fullmatch(r"([^()]+)\((.*)\)", item, re.DOTALL)
    if match:
        return Tool(match.group(1).strip(), match.group(2).strip())
    return Tool(item)


def tools_key(kind: str) -> str:
    """The frontmatter key that grants tools for this kind of artifact."""
    return "tools" if kind == "agent" else "allowed-tools"


def widened(kind: str, old: tuple[Tool, ...] | None, new: tuple[Tool, ...] | None) -> list[str]:
    """What the new grants allow that the old did not (empty when nothing widened).

    For an agent a missing `tools` means every tool, so dropping the key widens to everything;
    for skills and commands a missing `allowed-tools` grants nothing.
    """
    if kind == "agent":
        if old is None:
            return []
        if new is None:
            return ["every tool (the list was removed)"]
    before = old or ()
    return [str(t) for t in new or () if not any(o.covers(t) for o in before)]
