"""Upstream main files an attacker controlling one repository could publish: each must end as
that artifact's `invalid_metadata` (or be read harmlessly), never as a failed run."""

# Frontmatter whose parsing raises something other than a YAML error, or builds values later
# code does not expect. Every one of these must be `invalid_metadata` for its artifact.
INVALID_FRONTMATTER = {
    "impossible-date": "---\nname: x\nupdated: 2024-13-01\n---\nBody.\n",
    "year-zero": "---\nupdated: 0000-01-01\n---\nBody.\n",
    "offset-out-of-range": "---\nat: 2001-12-14 21:59:43.10 +99:00\n---\nBody.\n",
    "long-integer": "---\nversion: " + "9" * 5000 + "\n---\nBody.\n",
    "long-hex-integer": "---\nversion: 0x" + "f" * 50_000 + "\n---\nBody.\n",
    "binary": "---\nicon: !!binary aGVsbG8=\n---\nBody.\n",
    "self-holding-list": "---\nloop: &a [*a]\n---\nBody.\n",
    "alias-bomb": (
        "---\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n"
            for i in range(7)
        )
        + "---\nBody.\n"
    ),
    "deep-nesting": "---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nBody.\n",
    "unhashable-key": "---\n? [a, b]\n: c\n---\nBody.\n",
    "surrogate-escape": '---\ndescription: "half \\ud800 a pair"\n---\nBody.\n',
}

# JSON main files (an MCP config) a parser raises on with something other than JSONDecodeError.
INVALID_JSON = {
    "long-integer": '{"mcpServers": {}, "n": ' + "1" * 5000 + "}",
    "deep-nesting": "[" * 100_000 + "]" * 100_000,
}

# Odd but harmless frontmatter: read, with the values the derivation rules give.
ODD_FRONTMATTER = {
    "date-description": (
        "---\ndescription: 2024-01-02\ntitle: .nan\nauthor: {name: [1, 2]}\n"
        "topics: !!set {b, a}\n---\nBody.\n"
    ),
}

# An MCP config whose JSON spells half a surrogate pair, which no database column stores.
SURROGATE_JSON = '{"description": "half \\ud800 a pair", "mcpServers": {}}'
