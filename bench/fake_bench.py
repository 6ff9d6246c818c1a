"""How fast the GitHub fake itself answers: one GraphQL batch and one REST tree, by hand.

The refresh benchmark's wall times include the site; this one times only the fake, so that a
change to the fake can be told apart from noise. Run it with a checkout's path to compare two
versions of the fake (the path is put first on sys.path; point `GITHUB_GRAPHQL_SCHEMA` at the
schema when that checkout has none installed)::

    .venv/bin/python bench/fake_bench.py [PATH]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from fakegithub import FakeGitHub  # noqa: E402

REPOSITORIES = 50
SKILLS = 10
ROUNDS = {"graphql": 20, "rest": 300}


def batch_query() -> str:
    """Every repository's head and every skill's text, aliased in one query (as the plan asks)."""
    blob = "... on Blob { text }"
    tree = f"... on Tree {{ entries {{ name object {{ {blob} }} }} }}"
    skills = f'object(expression: "HEAD:skills") {{ {tree.replace(blob, tree)} }}'
    fields = f"nameWithOwner defaultBranchRef {{ target {{ oid }} }} {skills}"
    repos = " ".join(
        f'r{i}: repository(owner: "acme", name: "r{i}") {{ {fields} }}' for i in range(REPOSITORIES)
    )
    return "query { " + repos + " }"


def main() -> None:
    fake = FakeGitHub().start()
    fake.graphql_cost_per_item = 0.0  # time the fake's own work, not GitHub's modelled time
    for i in range(REPOSITORIES):
        files = {
            f"skills/s{j}/SKILL.md": f"---\ndescription: {i} {j}\n---\n" for j in range(SKILLS)
        }
        fake.add_repo(f"acme/r{i}", files=files)
    headers = {"Authorization": f"Bearer {fake.token}"}
    query = {"query": batch_query()}
    times: dict[str, list[float]] = {"graphql": [], "rest": []}
    with httpx.Client(headers=headers) as client:
        client.post(f"{fake.url}/graphql", json=query)  # parse and validate once
        for _ in range(ROUNDS["graphql"]):
            started = time.perf_counter()
            answer = client.post(f"{fake.url}/graphql", json=query)
            times["graphql"].append(time.perf_counter() - started)
            assert answer.status_code == 200 and "errors" not in answer.json()
        for _ in range(ROUNDS["rest"]):
            started = time.perf_counter()
            client.get(f"{fake.url}/repos/acme/r1/git/trees/main", params={"recursive": "1"})
            times["rest"].append(time.perf_counter() - started)
    fake.stop()
    print(f"fake at {ROOT}")
    for kind, values in times.items():
        print(f"  {kind:8} median {statistics.median(values) * 1000:.2f} ms over {len(values)}")


if __name__ == "__main__":
    main()
