"""The quota governor: secondary-limit pauses, exhausted resources and 401s, shared by requests.

The client runs against the fake GitHub over real loopback HTTP (and a plain HTTP server for
GraphQL answers); sharing between processes is tested through an in-memory store here and through
the database in tests/refresher/test_quota.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Response

from fakegithub import FakeGitHub
from fakegithub.server import SECONDARY_LIMIT_DOCS_URL, SECONDARY_LIMIT_MESSAGE
from refresher.upstream.github.client import GitHubClient, GitHubError
from refresher.upstream.github.governor import (
    SECONDARY_MAX_PAUSE,
    QuotaGovernor,
    QuotaState,
    ResourceQuota,
)
from tests.github.conftest import MakeClient

REPO = "octo/hello"


class MemoryStore:
    """A QuotaStore in memory: what two processes would share through the database."""

    def __init__(self) -> None:
        self.state = QuotaState()
        self.saves = 0

    def load(self) -> QuotaState:
        return self.state

    def save(self, state: QuotaState, *, clear_strikes: bool = False) -> QuotaState:
        self.saves += 1
        merged = self.state.merged(state)
        self.state = replace(merged, strikes=0) if clear_strikes else merged
        return self.state


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as gh:
        gh.add_repo(REPO, files={"README.md": "# Hello\n"})
        yield gh


@pytest.fixture
def client_defaults() -> dict[str, Any]:
    # A pause longer than a second is refused at once, not waited out.
    return {"max_inline_wait": 1.0}


def _error(call: Callable[[], object]) -> GitHubError:
    with pytest.raises(GitHubError) as info:
        call()
    return info.value


def _seconds_until(moment: datetime | None) -> float:
    assert moment is not None
    return (moment - datetime.now(UTC)).total_seconds()


# -- secondary limits -----------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_without_retry_after_pauses_every_request_for_a_minute(
    fake: FakeGitHub, make_client: MakeClient, status: int
) -> None:
    fake.secondary_limit(rf"^/repos/{REPO}$", status=status, times=1)
    client = make_client()

    err = _error(lambda: client.get(f"/repos/{REPO}"))

    assert (err.code, err.status, err.retry_after) == ("rate_limited", status, 60.0)
    assert 55 < _seconds_until(client.quota.state.paused_until) <= 60
    # The limit was met once; nothing else is sent while the pause lasts, whatever the path.
    other = _error(lambda: client.get(f"/repos/{REPO}/git/ref/heads/main"))
    assert (other.code, other.status) == ("rate_limited", None)
    assert other.retry_after is not None and 55 < other.retry_after <= 60
    assert "secondary rate limit" in other.message
    assert fake.count() == 1


def test_a_secondary_limit_with_retry_after_pauses_for_that_long(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.secondary_limit(status=429, retry_after=300, times=1)
    client = make_client()

    err = _error(lambda: client.get(f"/repos/{REPO}"))

    assert (err.code, err.retry_after) == ("rate_limited", 300.0)
    assert 295 < _seconds_until(client.quota.state.paused_until) <= 300
    _error(lambda: client.get(f"/repos/{REPO}"))
    assert fake.count() == 1


def test_a_short_pause_is_waited_out_by_every_request_not_only_the_one_that_met_it(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.secondary_limit(rf"^/repos/{REPO}$", retry_after=1, times=1)
    client = make_client(max_inline_wait=5.0)

    started = time.monotonic()
    assert client.get(f"/repos/{REPO}").status == 200
    # The pause has passed for this request; a second request must not be refused either.
    assert client.get(f"/repos/{REPO}/git/ref/heads/main").status == 200

    assert time.monotonic() - started >= 1.0
    assert [r.status for r in fake.requests] == [403, 200, 200]


def test_pauses_without_retry_after_double_while_they_repeat_and_reset_after_a_success() -> None:
    governor = QuotaGovernor()

    assert governor.pause(None) == 60.0
    assert governor.pause(None) == pytest.approx(120.0, abs=0.5)
    assert governor.pause(None) == pytest.approx(240.0, abs=0.5)
    assert governor.state.strikes == 3

    governor.succeeded()
    assert governor.pause(None) == pytest.approx(240.0, abs=1)  # the longer pause still stands
    assert governor.state.strikes == 1


def test_doubling_restarts_from_a_minute_once_a_request_succeeded() -> None:
    governor = QuotaGovernor()
    governor.pause(None)
    # The minute has passed (as if): the next request succeeds.
    governor._state = replace(governor.state, paused_until=datetime.now(UTC))
    governor.succeeded()

    assert governor.pause(None) == 60.0


def test_doubling_stops_at_an_hour() -> None:
    governor = QuotaGovernor()
    governor._state = QuotaState(pause_seconds=SECONDARY_MAX_PAUSE, strikes=9)
    assert governor.pause(None) == SECONDARY_MAX_PAUSE


def test_a_retry_after_is_used_as_given_even_when_shorter_than_a_minute() -> None:
    governor = QuotaGovernor()
    assert governor.pause(5) == 5.0
    assert 0 < _seconds_until(governor.state.paused_until) <= 5


@pytest.mark.parametrize("retry_after", [99_999_999, 999_999_999_999])
def test_an_absurd_retry_after_pauses_for_an_hour_at_most(
    fake: FakeGitHub, make_client: MakeClient, retry_after: int
) -> None:
    # A broken proxy or Enterprise server must not pause every process for years (the pause is
    # shared through the database), nor crash the run with a date past the calendar's end.
    fake.secondary_limit(status=429, retry_after=retry_after, times=1)
    client = make_client()

    err = _error(lambda: client.get(f"/repos/{REPO}"))

    assert (err.code, err.retry_after) == ("rate_limited", SECONDARY_MAX_PAUSE)
    left = _seconds_until(client.quota.state.paused_until)
    assert SECONDARY_MAX_PAUSE - 5 < left <= SECONDARY_MAX_PAUSE


# -- sharing through a store ----------------------------------------------------------------


def test_a_pause_one_client_meets_stops_another_client_sharing_the_store(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    store = MemoryStore()
    first = make_client(quota=QuotaGovernor(store))
    second = make_client(quota=QuotaGovernor(store))
    second.quota.sync()
    fake.secondary_limit(times=1)

    _error(lambda: first.get(f"/repos/{REPO}"))
    first.quota.sync()
    assert store.state.paused_until == first.quota.state.paused_until
    second.quota.sync()

    err = _error(lambda: second.get(f"/repos/{REPO}"))
    assert (err.code, err.status) == ("rate_limited", None)
    assert fake.count() == 1


def test_remaining_counts_are_shared_at_the_end_not_after_every_answer(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    store = MemoryStore()
    client = make_client(quota=QuotaGovernor(store))
    client.get(f"/repos/{REPO}")
    client.quota.sync()
    assert store.saves == 0  # a healthy quota is not worth a write per wave

    client.quota.sync(final=True)

    assert store.saves == 1
    assert store.state.resources["core"].remaining == fake.rate_limit_remaining


def test_an_exhausted_resource_is_shared_at_once(fake: FakeGitHub, make_client: MakeClient) -> None:
    store = MemoryStore()
    client = make_client(quota=QuotaGovernor(store))
    fake.rate_limit_remaining = 0

    _error(lambda: client.get(f"/repos/{REPO}"))
    client.quota.sync()

    core = store.state.resources["core"]
    assert core.remaining == 0
    assert core.reset_at == datetime.fromtimestamp(fake.rate_limit_reset, UTC)
    other = QuotaGovernor(store)
    other.sync()
    block = other.blocked(("core",))
    assert block is not None and (block.reason, block.resource) == ("exhausted", "core")
    assert other.blocked(("graphql",)) is None


def test_older_answers_never_raise_what_is_known_to_remain() -> None:
    reset = datetime.now(UTC) + timedelta(minutes=30)
    governor = QuotaGovernor()
    governor.observe("core", ResourceQuota(5000, 10, reset))
    governor.observe("core", ResourceQuota(5000, 40, reset))
    assert governor.state.resources["core"].remaining == 10
    # A new window starts full again.
    governor.observe("core", ResourceQuota(5000, 4999, reset + timedelta(hours=1)))
    assert governor.state.resources["core"].remaining == 4999


def test_a_store_that_fails_does_not_fail_the_client(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    class Broken(MemoryStore):
        def load(self) -> QuotaState:
            raise RuntimeError("database down")

    client = make_client(quota=QuotaGovernor(Broken()))
    client.quota.sync()
    assert client.get(f"/repos/{REPO}").status == 200


# -- resources: REST and GraphQL through one client -----------------------------------------


def _graphql_answer(remaining: int, *, reset_in: int = 1800) -> Response:
    headers = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(time.time()) + reset_in),
        "x-ratelimit-resource": "graphql",
    }
    body = json.dumps({"data": {"viewer": {"login": "octocat"}}})
    return Response(body, status=200, headers=headers, content_type="application/json")


def test_a_reset_years_ahead_counts_as_the_end_of_the_hour_at_most(httpserver: HTTPServer) -> None:
    # GitHub's primary window is an hour. A reset years ahead (a broken proxy or server) must
    # not mark the quota spent for years in every process: later answers could never replace it.
    httpserver.expect_request("/graphql", method="POST").respond_with_response(
        _graphql_answer(remaining=0, reset_in=10 * 365 * 86400)
    )
    with GitHubClient(base_url=httpserver.url_for("/"), token="t", backoff=0.01) as client:
        client.post("/graphql", json={"query": "{ viewer { login } }"})

        reset_at = client.quota.state.resources["graphql"].reset_at
        assert client.rate_limit is not None and client.rate_limit.reset_at == reset_at
    assert 3590 < _seconds_until(reset_at) <= 3600


def test_graphql_posts_obey_the_governor_and_their_resource_comes_from_the_header(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/graphql", method="POST").respond_with_response(
        _graphql_answer(remaining=0)
    )
    with GitHubClient(base_url=httpserver.url_for("/"), token="t", backoff=0.01) as client:
        answer = client.post("/graphql", json={"query": "{ viewer { login } }"})

        assert answer.data == {"data": {"viewer": {"login": "octocat"}}}
        assert client.rate_limit is not None and client.rate_limit.resource == "graphql"
        assert client.rate_limit.as_dict()["resource"] == "graphql"
        assert client.quota.state.resources["graphql"].remaining == 0
        # The GraphQL quota is spent: the next query is not sent ...
        err = _error(lambda: client.post("/graphql", json={"query": "{ viewer { login } }"}))
        assert (err.code, err.status) == ("rate_limited", None)
        assert "graphql rate limit is exhausted" in err.message
    assert len(httpserver.log) == 1
    request, _ = httpserver.log[0]
    assert json.loads(request.data) == {"query": "{ viewer { login } }"}
    assert request.headers["Authorization"] == "Bearer t"


def test_the_run_record_names_the_resource_used_most(
    fake: FakeGitHub, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/repos/octo/hello").respond_with_json(
        {"full_name": REPO},
        headers={
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4000",
            "x-ratelimit-reset": str(int(time.time()) + 1800),
            "x-ratelimit-resource": "core",
        },
    )
    httpserver.expect_request("/graphql", method="POST").respond_with_response(
        _graphql_answer(remaining=4990)
    )
    with GitHubClient(base_url=httpserver.url_for("/"), token="t") as client:
        client.get(f"/repos/{REPO}")
        for _ in range(2):
            client.post("/graphql", json={"query": "{ viewer { login } }"})
        assert client.rate_limit is not None
        assert (client.rate_limit.resource, client.rate_limit.remaining) == ("graphql", 4990)
        # GraphQL still has quota left.
        assert client.quota.blocked(("graphql",)) is None


# -- bad credentials ------------------------------------------------------------------------


def test_the_fake_answers_a_bad_token_with_githubs_401_body(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    import httpx

    answer = httpx.get(
        f"{fake.url}/repos/{REPO}", headers={"Authorization": "Bearer not-the-token"}
    )

    assert answer.status_code == 401
    assert answer.json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }


def test_the_fake_sends_githubs_secondary_limit_body_with_and_without_retry_after(
    fake: FakeGitHub,
) -> None:
    import httpx

    fake.secondary_limit(r"/one$", times=1)
    fake.secondary_limit(r"/two$", status=429, retry_after=30, times=1)
    headers = {"Authorization": f"Bearer {fake.token}"}
    one = httpx.get(f"{fake.url}/repos/{REPO}/one", headers=headers)
    two = httpx.get(f"{fake.url}/repos/{REPO}/two", headers=headers)

    assert one.status_code == 403 and "retry-after" not in one.headers
    assert one.json()["message"] == SECONDARY_LIMIT_MESSAGE
    assert one.json()["documentation_url"] == SECONDARY_LIMIT_DOCS_URL
    # A secondary limit leaves the primary quota alone.
    assert int(one.headers["x-ratelimit-remaining"]) > 0
    assert two.status_code == 429 and two.headers["retry-after"] == "30"


# -- what a 304 costs -----------------------------------------------------------------------


def test_a_304_is_free_with_a_token_and_billed_without_one(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    authorized = make_client()
    first = authorized.get(f"/repos/{REPO}")
    remaining = fake.rate_limit_remaining
    assert authorized.get(f"/repos/{REPO}", etag=first.etag).status == 304
    assert fake.rate_limit_remaining == remaining

    anonymous = make_client(token="")
    answer = anonymous.get(f"/repos/{REPO}")
    left = fake.anonymous_remaining
    assert left == 59 and anonymous.rate_limit is not None and anonymous.rate_limit.limit == 60

    assert anonymous.get(f"/repos/{REPO}", etag=answer.etag).status == 304
    # GitHub bills a 304 unless the request was made with a token.
    assert fake.anonymous_remaining == left - 1
    assert anonymous.rate_limit.remaining == left - 1
    assert fake.rate_limit_remaining == remaining
