"""The GitHub fake's commit history, as GitHub documents it: the commits list with `sha`,
`path`, `since`, `until`, `per_page`, `page` and its `Link` header; git commit objects; and
GraphQL's `Commit.history(path:, first:)` and `committedDate`, with dates the tests set."""

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from fakegithub import FakeGitHub
from fakegithub.endpoints import endpoint_kind

OLD = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def kit(fake):
    """Five commits: the skill changes in the first, third and fifth."""
    shas = [fake.add_repo("acme/kit", files={"skills/x/SKILL.md": "1", "README": "r"}, date=OLD)]
    for day, files in enumerate(
        [
            {"README": "r2"},
            {"skills/x/SKILL.md": "2"},
            {"README": "r3"},
            {"skills/x/scripts/run.sh": "echo"},
        ],
        start=1,
    ):
        shas.append(
            fake.commit(
                "acme/kit", files=files, message=f"day {day}", date=OLD + timedelta(days=day)
            )
        )
    return shas


def get(fake, url, **params):
    return httpx.get(
        f"{fake.url}{url}", params=params, headers={"Authorization": f"Bearer {fake.token}"}
    )


def links(response) -> dict[str, dict[str, str]]:
    out = {}
    for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("link", "")):
        query = dict(httpx.URL(url).params)
        out[rel] = query
    return out


def test_the_commits_list_is_newest_first_and_filtered_by_path(fake, kit):
    everything = get(fake, "/repos/acme/kit/commits")
    assert [c["sha"] for c in everything.json()] == kit[::-1]
    skill = get(fake, "/repos/acme/kit/commits", path="skills/x", sha=kit[-1]).json()
    assert [c["sha"] for c in skill] == [kit[4], kit[2], kit[0]]
    first = skill[0]
    assert first["commit"]["message"] == "day 4"
    assert first["commit"]["committer"]["date"] == "2026-01-14T12:00:00Z"
    assert first["parents"][0]["sha"] == kit[3]
    file_only = get(fake, "/repos/acme/kit/commits", path="skills/x/SKILL.md").json()
    assert [c["sha"] for c in file_only] == [kit[2], kit[0]]
    assert get(fake, "/repos/acme/kit/commits", sha=kit[1]).json()[0]["sha"] == kit[1]


def test_the_commits_list_pages_with_a_link_header(fake, kit):
    first = get(fake, "/repos/acme/kit/commits", per_page=2)
    assert [c["sha"] for c in first.json()] == [kit[4], kit[3]]
    rels = links(first)
    assert set(rels) == {"next", "last"}
    assert rels["next"]["page"] == "2" and rels["last"]["page"] == "3"
    assert rels["next"]["per_page"] == "2"
    middle = get(fake, "/repos/acme/kit/commits", **rels["next"])
    assert [c["sha"] for c in middle.json()] == [kit[2], kit[1]]
    assert set(links(middle)) == {"prev", "first", "next", "last"}
    last = get(fake, "/repos/acme/kit/commits", **links(middle)["last"])
    assert [c["sha"] for c in last.json()] == [kit[0]] and set(links(last)) == {"prev", "first"}
    assert "link" not in get(fake, "/repos/acme/kit/commits").headers
    capped = get(fake, "/repos/acme/kit/commits", per_page=1000).json()
    assert len(capped) == 5  # per_page is capped at 100, not refused


def test_since_and_until_filter_on_the_committer_date(fake, kit):
    window = get(
        fake,
        "/repos/acme/kit/commits",
        since="2026-01-11T12:00:00Z",
        until="2026-01-13T12:00:00Z",
    ).json()
    assert [c["sha"] for c in window] == [kit[3], kit[2], kit[1]]


@pytest.mark.parametrize(
    ("params", "status"),
    [({"sha": "nope"}, 404), ({"per_page": "ten"}, 422), ({"since": "yesterday"}, 422)],
)
def test_bad_parameters_are_refused_as_github_does(fake, kit, params, status):
    assert get(fake, "/repos/acme/kit/commits", **params).status_code == status


def test_git_commit_objects_carry_the_committer_date(fake, kit):
    answer = get(fake, f"/repos/acme/kit/git/commits/{kit[0]}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["sha"] == kit[0] and body["committer"]["date"] == "2026-01-10T12:00:00Z"
    assert body["message"] == "initial commit" and body["parents"] == []
    assert get(fake, f"/repos/acme/kit/git/commits/{'0' * 40}").status_code == 404
    assert endpoint_kind(f"/repos/o/r/git/commits/{'0' * 40}") == "git-commit"
    assert endpoint_kind("/repos/o/r/commits") == "commits"


def test_a_commit_without_a_date_is_fresh(fake, kit):
    fresh = fake.commit("acme/kit", files={"README": "now"})
    date = get(fake, f"/repos/acme/kit/git/commits/{fresh}").json()["committer"]["date"]
    moment = datetime.fromisoformat(date.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 120


def test_graphql_history_by_path_and_committed_date(fake, kit):
    query = """query($o: GitObjectID!) { repository(owner: "acme", name: "kit") {
      object(oid: $o) { ... on Commit {
        committedDate
        history(first: 2, path: "skills/x") {
          totalCount
          pageInfo { hasNextPage }
          nodes { oid messageHeadline committedDate author { name } }
        }
      } } } }"""
    answer = httpx.post(
        f"{fake.url}/graphql",
        json={"query": query, "variables": {"o": kit[-1]}},
        headers={"Authorization": f"Bearer {fake.token}"},
    )
    assert answer.status_code == 200, answer.text
    commit = answer.json()["data"]["repository"]["object"]
    assert commit["committedDate"] == "2026-01-14T12:00:00Z"
    history = commit["history"]
    assert history["totalCount"] == 3 and history["pageInfo"]["hasNextPage"] is True
    assert [n["oid"] for n in history["nodes"]] == [kit[4], kit[2]]
    assert history["nodes"][1]["messageHeadline"] == "day 2"
    assert history["nodes"][1]["author"]["name"] == "Fake Author"
