"""Frontmatter parse time: PyYAML's pure-Python SafeLoader against libyaml's CSafeLoader.

Usage: .venv/bin/python bench/yaml_loader_bench.py
Prints the best of three timings per loader for a typical frontmatter (a fixture) and a large one.
"""

import timeit
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    if not yaml.__with_libyaml__:
        raise SystemExit("This PyYAML has no libyaml: there is no C loader to compare.")
    typical = (ROOT / "tests/fixtures/upstream/skill-spdx.md").read_text().split("---")[1]
    large = "description: |\n" + "".join(
        f"  line {i} of a long description, with words.\n" for i in range(2000)
    )
    large += "tags: [" + ", ".join(f"t{i}" for i in range(2000)) + "]\n"
    cases = [
        (f"typical ({len(typical)} B)", typical, 2000),
        (f"large ({len(large) // 1024} KiB)", large, 20),
    ]
    for name, text, number in cases:
        timings = {}
        for loader in (yaml.SafeLoader, yaml.CSafeLoader):
            runs = timeit.repeat(
                lambda t=text, ld=loader: yaml.load(t, Loader=ld), number=number, repeat=3
            )
            timings[loader.__name__] = min(runs) / number
        ratio = timings["SafeLoader"] / timings["CSafeLoader"]
        print(
            f"{name:16} SafeLoader {timings['SafeLoader'] * 1e3:8.2f} ms   "
            f"CSafeLoader {timings['CSafeLoader'] * 1e3:8.2f} ms   {ratio:4.1f}x"
        )


if __name__ == "__main__":
    main()
