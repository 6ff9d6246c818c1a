"""The manifest builder as a pure function: plain rows in, `marketplace.json` out (SPEC 15)."""

import json

import pytest

from collections_app.marketplace.manifest import ArtifactRow, CollectionRow, build
from collections_app.marketplace.names import marketplace_name, safe_name

SHA = "1" * 40
URL = "https://github.com/acme/kit.git"


def collection(**changes: str) -> CollectionRow:
    row = CollectionRow(name="Team Kit", owner="alice", description="", version="")
    row.update(changes)  # type: ignore[typeddict-item]
    return row


def artifact(of_type: str = "skill", name: str = "pdf", **changes: object) -> ArtifactRow:
    paths = {
        "skill": f"skills/{name}",
        "agent": f"agents/{name}.md",
        "command": f"commands/{name}.md",
        "hook": "hooks/hooks.json",
        "mcp": ".mcp.json",
    }
    row = ArtifactRow(
        id=f"{of_type}-{name}",
        type=of_type,
        name=name,
        kind="github",
        clone_url=URL,
        path=paths[of_type],
        ref="",
        ref_is_sha=False,
        resolved_sha=SHA,
        description="",
        author="",
        license="",
        tags=[],
        topics=[],
        content="",
    )
    row.update(changes)  # type: ignore[typeddict-item]
    return row


def plugins(*rows: ArtifactRow) -> dict[str, dict[str, object]]:
    return {p["name"]: dict(p) for p in build(collection(), list(rows)).manifest["plugins"]}


def test_the_manifest_names_the_collection_its_owner_and_a_description():
    manifest = build(collection(), []).manifest
    assert manifest == {
        "name": "team-kit",
        "owner": {"name": "alice"},
        "description": "The Team Kit collection of alice.",
        "plugins": [],
    }
    described = build(collection(description=" Ours. ", version="2.0.1"), []).manifest
    assert described["description"] == "Ours."
    assert described["metadata"] == {"version": "2.0.1"}


def test_a_plugin_carries_the_artifacts_metadata_and_keywords_without_duplicates():
    entry = plugins(
        artifact(
            description="Read PDFs.",
            author="Dana",
            license="MIT",
            tags=["docs", "pdf"],
            topics=["pdf", "forms"],
        )
    )["pdf"]
    assert entry["description"] == "Read PDFs."
    assert entry["author"] == {"name": "Dana"}
    assert entry["license"] == "MIT"
    assert entry["keywords"] == ["docs", "pdf", "forms"]
    assert entry["category"] == "skill"
    assert entry["strict"] is False
    assert "version" not in entry
    bare = plugins(artifact())["pdf"]
    assert not {"description", "author", "license", "keywords"} & set(bare)


def test_sources_pin_the_synced_commit_and_name_a_tracked_branch_but_not_a_sha_pin():
    tracked = plugins(artifact(ref="main"))["pdf"]["source"]
    assert tracked == {
        "source": "git-subdir",
        "url": URL,
        "path": "skills/pdf",
        "sha": SHA,
        "ref": "main",
    }
    pinned = plugins(artifact(ref="2" * 40, ref_is_sha=True))["pdf"]["source"]
    assert "ref" not in pinned and pinned["sha"] == SHA


def test_each_type_gets_its_one_component_field():
    found = plugins(
        artifact("skill", "pdf"),
        artifact("agent", "reviewer"),
        artifact("command", "changelog"),
        artifact("command", "deploy", path="commands/deploy"),
    )
    assert found["pdf"]["skills"] == ["./"]
    assert found["reviewer"]["agents"] == ["./reviewer.md"]
    assert found["reviewer"]["source"]["path"] == "agents"  # type: ignore[index]
    assert found["changelog"]["commands"] == ["./changelog.md"]
    # A directory named as the artifact: its <TYPE>.md, the first main file SPEC 4 looks for.
    assert found["deploy"]["commands"] == ["./COMMAND.md"]
    assert found["deploy"]["source"]["path"] == "commands/deploy"  # type: ignore[index]


def test_a_skill_linked_by_its_skill_md_is_its_directory():
    entry = plugins(artifact(path="skills/pdf/SKILL.md"))["pdf"]
    assert entry["source"]["path"] == "skills/pdf"  # type: ignore[index]


def test_repository_root_artifacts_take_a_shape_claude_code_installs_whole():
    found = plugins(
        artifact("skill", "whole", path=""),
        artifact("agent", "top", path="top.md"),
        artifact("mcp", "servers", content='{"mcpServers": {"a": {"command": "a"}}}'),
    )
    assert found["whole"]["source"] == {"source": "url", "url": URL, "sha": SHA}
    assert found["top"]["source"]["path"] == "."  # type: ignore[index]
    assert found["top"]["agents"] == ["./top.md"]
    assert found["servers"]["source"]["path"] == "."  # type: ignore[index]


HOOKS = {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./g.sh"}]}]}


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"description": "Guard", "hooks": HOOKS}),  # a plugin's hooks/hooks.json
        json.dumps(HOOKS),  # the bare event map
        "hooks:\n  PreToolUse:\n    - matcher: Bash\n      hooks:\n"
        "        - {type: command, command: ./g.sh}\n",  # YAML
    ],
)
def test_hooks_are_inlined_as_the_bare_event_map(content):
    path = "hooks/hooks.yaml" if content.startswith("hooks:") else "hooks/hooks.json"
    entry = plugins(artifact("hook", "guard", path=path, content=content))["guard"]
    assert entry["hooks"] == HOOKS
    assert entry["source"]["path"] == "hooks"  # type: ignore[index]


def test_mcp_servers_are_inlined_as_the_bare_server_map():
    servers = {"tickets": {"command": "npx", "args": ["-y", "tickets"]}}
    wrapped = plugins(artifact("mcp", "t", content=json.dumps({"mcpServers": servers})))
    bare = plugins(artifact("mcp", "t", content=json.dumps(servers)))
    assert wrapped["t"]["mcpServers"] == bare["t"]["mcpServers"] == servers


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": "none", "clone_url": ""}, "no_upstream"),
        ({"kind": "local", "clone_url": ""}, "no_upstream"),
        ({"kind": "unsupported", "clone_url": ""}, "unsupported_source"),
        ({"kind": "invalid", "clone_url": ""}, "invalid_source"),
        ({"resolved_sha": ""}, "not_synced"),
        ({"resolved_sha": "abc1234"}, "not_synced"),  # a short pin no commit has
    ],
)
def test_artifacts_that_cannot_be_pinned_are_left_out_with_their_reason(changes, reason):
    built = build(collection(), [artifact(**changes), artifact(name="kept")])
    assert [p["name"] for p in built.manifest["plugins"]] == ["kept"]
    assert built.omitted == [
        {"artifact_id": "skill-pdf", "type": "skill", "name": "pdf", "reason": reason}
    ]


@pytest.mark.parametrize(
    ("kind", "path", "content"),
    [
        ("hook", "hooks/HOOK.md", "# Runs a guard before Bash"),
        ("hook", "hooks/hooks.json", "{not json"),
        ("hook", "hooks/hooks.json", '{"hooks": {"PreToolUse": "not a list"}}'),
        ("hook", "hooks/hooks.yml", "when: 2024-01-01"),  # YAML that is no JSON value
        ("hook", "hooks/hooks.json", "hooks:\n  Stop: []\n"),  # YAML in a .json file
        ("mcp", "servers/README.md", "# Servers"),
        ("mcp", ".mcp.json", '{"mcpServers": {}}'),
        ("mcp", ".mcp.json", "[" * 100_000),
    ],
)
def test_a_hook_or_mcp_file_holding_no_configuration_is_left_out(kind, path, content):
    built = build(collection(), [artifact(kind, "x", path=path, content=content)])
    assert built.manifest["plugins"] == []
    assert built.omitted[0]["reason"] == "no_configuration"


def test_plugins_are_sorted_by_type_then_name():
    built = build(
        collection(),
        [artifact("skill", "b"), artifact("agent", "z"), artifact("skill", "a")],
    )
    assert [p["name"] for p in built.manifest["plugins"]] == ["z", "a", "b"]


def test_names_that_collide_take_their_type_and_then_a_digest():
    found = plugins(
        artifact("skill", "review"),
        artifact("agent", "review"),
        artifact("command", "Deploy Now"),
        artifact("command", "deploy-now"),
        artifact("skill", "solo"),
    )
    assert {"review-skill", "review-agent", "solo"} <= set(found)
    deploys = sorted(n for n in found if n.startswith("deploy-now-command-"))
    assert len(deploys) == 2 and deploys[0] != deploys[1]
    assert len(found) == 5
    # The same rows give the same names: nothing depends on the order they came in.
    again = build(collection(), list(reversed([artifact("skill", "review")])))
    assert again.manifest["plugins"][0]["name"] == "review"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("PDF Tools!", "pdf-tools"),
        ("Ünïcode naïve", "unicode-naive"),
        ("claude-pdf", "pdf"),
        ("my-claude-helper", "my-helper"),
        ("cla-ude-x", "x"),
        ("anthropic-official", "official"),
        ("cc-plugin-lint", "lint"),
        ("claude", "skill"),
        ("x" * 80, "x" * 64),
    ],
)
def test_plugin_names_are_kebab_case_without_words_claude_code_reserves(written, expected):
    assert safe_name(written, fallback="skill") == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Team Kit", "team-kit"),
        ("Claude Tools", "tools"),
        ("Claude", "alice-collection"),
        ("inline", "inline-collection"),
        ("skills-dir", "skills-dir-collection"),
    ],
)
def test_marketplace_names_avoid_reserved_words_and_names(written, expected):
    assert marketplace_name(written, "alice") == expected


def test_the_body_and_its_etag_depend_only_on_the_rows():
    rows = [artifact(), artifact("agent", "reviewer")]
    first, second = build(collection(), rows), build(collection(), list(reversed(rows)))
    assert first.body() == second.body()
    assert first.etag() == second.etag()
    assert build(collection(description="Other."), rows).etag() != first.etag()
    assert json.loads(first.body()) == first.manifest
