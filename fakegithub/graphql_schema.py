"""GitHub's published GraphQL schema, and the node count and cost GitHub's documentation gives.

The schema is the `@octokit/graphql-schema` npm package (installed by `make graphql-schema`);
every query the fake answers is validated against it with graphql-core, so a field GitHub does
not have is refused here as GitHub refuses it.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    parse,
    validate,
)
from graphql.language import FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PACKAGE = Path("var/graphql-schema/node_modules/@octokit/graphql-schema")
NODE_LIMIT = 500_000


def schema_path() -> Path:
    """Where GitHub's schema was installed (`GITHUB_GRAPHQL_SCHEMA` overrides)."""
    configured = os.environ.get("GITHUB_GRAPHQL_SCHEMA")
    if configured:
        return Path(configured)
    return ROOT / SCHEMA_PACKAGE / "schema.graphql"


_schema_lock = threading.Lock()


def github_schema() -> GraphQLSchema:
    """GitHub's published GraphQL schema, built once per process (thread-safe)."""
    with _schema_lock:
        return _build_schema()


@lru_cache(maxsize=1)
def _build_schema() -> GraphQLSchema:
    """GitHub's published GraphQL schema, built once per process.

    GitHub's SDL breaks a few of graphql-js's schema rules (duplicate field definitions,
    deprecated interface fields), so it is built with `assume_valid_sdl` and the schema
    self-check is marked done: validating queries against it works as usual.
    """
    path = schema_path()
    if not path.exists():
        raise RuntimeError(
            f"GitHub's GraphQL schema is not installed at {path}; run `make graphql-schema`"
        )
    schema = build_schema(path.read_text(encoding="utf-8"), assume_valid_sdl=True)
    # graphql-core caches the result of its schema check here; an empty list means "valid".
    schema._validation_errors = []  # type: ignore[attr-defined]
    return schema


def validate_query(query: str) -> list[GraphQLError]:
    """The errors graphql-core finds in `query` against GitHub's schema (none when valid)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return [error]
    return list(validate(github_schema(), document))


# -- node count and cost (GitHub's published formulas) --------------------------------------------


def connection_figures(document: DocumentNode) -> tuple[int, int]:
    """(nodes, connection requests) of a query, as GitHub's rate-limit docs count them.

    Every field with a `first`/`last` argument is a connection: it may return that many nodes,
    and each of them multiplies what is asked below it.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    nodes = requests = 0

    def size(node: FieldNode) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value in ("first", "last"):
                value = getattr(argument.value, "value", None)
                try:
                    return int(value) if value is not None else 100
                except (TypeError, ValueError):
                    return 100
        return None

    def walk(selection_set: SelectionSetNode | None, multiplier: int, seen: frozenset[str]) -> None:
        nonlocal nodes, requests
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                first = size(selection)
                if first is None:
                    walk(selection.selection_set, multiplier, seen)
                else:
                    requests += multiplier
                    nodes += multiplier * first
                    walk(selection.selection_set, multiplier * first, seen)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    walk(fragments[name].selection_set, multiplier, seen | {name})

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, 1, frozenset())
    return nodes, requests
