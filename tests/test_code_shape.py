"""The apps stay readable: no function over 60 lines, no module over 600, few `Any`s.

Functions are measured from their `def` line to their last line (decorators not counted), modules
by their lines; migrations are generated and left out. `Any` is counted as the word in the source
text, imports included, as `grep -rwo --include='*.py' --exclude-dir=migrations Any <apps>`
counts it: each one is a value whose type was given up on.
"""

import ast
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("refresher", "collections_app", "skillmeat_site", "api_tokens")

MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 600
MAX_ANY = 20

_ANY = re.compile(r"\bAny\b")


def modules(folder: Path | str) -> list[Path]:
    """The Python modules under `folder` (relative to the repository, or absolute), migrations
    left out."""
    base = ROOT / folder
    return sorted(p for p in base.rglob("*.py") if "migrations" not in p.relative_to(base).parts)


def too_long(folder: Path | str) -> list[str]:
    """Each module over MAX_MODULE_LINES and each function over MAX_FUNCTION_LINES under
    `folder`, named with its place and length."""
    offenders = []
    for path in modules(folder):
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            offenders.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    offenders.append(
                        f"{name}:{node.lineno} {node.name}(): {length} lines "
                        f"(at most {MAX_FUNCTION_LINES})"
                    )
    return offenders


def any_count(folder: Path | str) -> int:
    """How many times the word `Any` appears in the modules under `folder`."""
    return sum(len(_ANY.findall(p.read_text(encoding="utf-8"))) for p in modules(folder))


@pytest.mark.parametrize("app", APPS)
def test_no_function_or_module_of_an_app_is_too_long(app):
    offenders = too_long(app)
    assert not offenders, "split by meaning:\n" + "\n".join(offenders)


def test_the_apps_give_up_on_a_type_at_most_80_times():
    counts = {app: any_count(app) for app in APPS}
    assert sum(counts.values()) <= MAX_ANY, f"`Any` {sum(counts.values())} times: {counts}"


# -- the measures themselves -----------------------------------------------------------------


def _function(name: str, lines: int) -> str:
    """A function of exactly `lines` lines, def line included."""
    body = "".join(f"    x{i} = {i}\n" for i in range(lines - 2))
    return f"def {name}():\n{body}    return 0\n"


def test_a_function_one_line_over_the_limit_is_named_and_one_at_it_is_not(tmp_path):
    app = tmp_path / "app"
    (app / "inner").mkdir(parents=True)
    (app / "short.py").write_text(_function("fits", MAX_FUNCTION_LINES))
    method = textwrap.indent(_function("method", MAX_FUNCTION_LINES + 1), "    ")
    (app / "inner" / "long.py").write_text("class Holder:\n" + method)

    offenders = too_long(app)

    assert offenders == [
        f"{app / 'inner' / 'long.py'}:2 method(): {MAX_FUNCTION_LINES + 1} lines (at most 60)"
    ]


def test_a_module_over_the_limit_is_named_and_migrations_are_not_measured(tmp_path):
    app = tmp_path / "app"
    (app / "migrations").mkdir(parents=True)
    filler = "".join(f"X{i} = {i}\n" for i in range(MAX_MODULE_LINES + 1))
    (app / "big.py").write_text(filler)
    (app / "exact.py").write_text(filler[: filler.index(f"X{MAX_MODULE_LINES} =")])
    (app / "migrations" / "0001_initial.py").write_text(filler + _function("generated", 90))

    assert too_long(app) == [f"{app / 'big.py'}: {MAX_MODULE_LINES + 1} lines (at most 600)"]


def test_any_is_counted_as_grep_counts_the_word(tmp_path):
    app = tmp_path / "app"
    (app / "migrations").mkdir(parents=True)
    (app / "typed.py").write_text(
        "from typing import Any, AnyStr\n"
        "def f(x: Any, y: typing.Any) -> dict[str, Any]: ...\n"
        "# Many, Anyone and any are other words\n"
    )
    (app / "migrations" / "0001_initial.py").write_text("from typing import Any\n")

    assert any_count(app) == 4
