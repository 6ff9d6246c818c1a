"""No import cycle between the site's modules, counting imports inside functions.

import-linter's contracts see module-level and function-level imports alike but do not look for
cycles, and Python only trips over a cycle when the modules happen to load in the wrong order.
So the graph is built here from the source with `ast`: every `import` and `from ... import`
anywhere in a module (inside functions and `if TYPE_CHECKING:` blocks too), resolved to the
deepest module of ours it names.
"""

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("skillmeat_site", "collections_app", "refresher", "fakegithub")

type Graph = dict[str, set[str]]


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages (a package is its
    `__init__`)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _ours(name: str, known: dict[str, Path]) -> str | None:
    """The deepest module of ours that `name` (a module, or a name inside one) lies in."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            # `from a import b` imports the module a.b when there is one, else a name in a.
            names += [f"{base}.{alias.name}" for alias in node.names]
    targets = {_ours(name, known) for name in names}
    return {t for t in targets if t is not None and t != module}


def import_graph(root: Path, packages: Iterable[str]) -> Graph:
    known = modules(root, packages)
    return {module: _imported(module, path, known) for module, path in known.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_the_sites_modules_import_each_other_without_a_cycle():
    graph = import_graph(ROOT, PACKAGES)
    assert len(graph) > 100  # the walk found the site, not an empty folder
    assert graph["refresher.service"] >= {"refresher.engine", "refresher.factory"}
    assert cycles(graph) == []


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def later():\n    from .. import c\n")
    (package / "c.py").write_text("def later():\n    import pkg.a as a\n    return a\n")
    (package / "d.py").write_text("from pkg import a\n")  # depends on the cycle, not in it

    graph = import_graph(tmp_path, ["pkg"])

    assert graph["pkg.sub.b"] == {"pkg.c"}
    assert cycles(graph) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
