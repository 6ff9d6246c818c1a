"""docs/reliability.md names real tests: a renamed or deleted test must not leave it lying."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `tests/x.py::name`, `tests/x.py::Class::name`, or `::name` for the file named last.
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?((?:::\w+)+)`")


def references() -> list[tuple[str, str | None, str]]:
    found, current = [], None
    for match in REFERENCE.finditer((ROOT / "docs" / "reliability.md").read_text()):
        current = match.group(1) or current
        assert current, f"{match.group(0)} names no file"
        parts = match.group(2).strip(":").split("::")
        found.append((current, parts[0] if len(parts) == 2 else None, parts[-1]))
    return found


def test_every_test_the_reliability_doc_names_exists():
    refs = references()
    assert len(refs) > 80
    missing = []
    for path, cls, name in refs:
        source = (ROOT / path).read_text()
        if cls:
            body = source.split(f"\nclass {cls}", 1)
            ok = len(body) == 2 and re.search(rf"\n    def {name}\(", body[1].split("\nclass ")[0])
        elif name.startswith("test_"):
            ok = re.search(rf"\ndef {name}\(", source)
        else:  # a class named alone
            ok = re.search(rf"\nclass {name}\b", source)
        if not ok:
            missing.append(f"{path}::{cls + '::' if cls else ''}{name}")
    assert missing == []
