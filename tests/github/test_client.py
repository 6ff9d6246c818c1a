"""The GitHub client against the fake GitHub over real loopback HTTP, and the fake itself."""

from __future__ import annotations

import base64
import hashlib
import logging
import pickle
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from fakegithub import FakeGitHub
from refresher.upstream.github.client import GitHubClient, GitHubError, RateLimit, endpoint_kind
from tests.github.conftest import MakeClient

REPO = "octo/hello"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as gh:
        gh.add_repo(
            REPO,
            files={"README.md": "# Hello\n", "skills/pdf/SKILL.md": "---\nname: pdf\n---\n"},
            topics=["demo"],
        )
        yield gh


def _error(call: Callable[[], object]) -> GitHubError:
    with pytest.raises(GitHubError) as info:
        call()
    return info.value


# -- headers and conditional requests -------------------------------------------------------


def test_sends_api_version_user_agent_accept_and_bearer_token(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    make_client(user_agent="skillmeat-test/1.0").get(f"/repos/{REPO}")

    (record,) = fake.requests
    assert record.headers["x-github-api-version"] == "2022-11-28"
    assert record.headers["user-agent"] == "skillmeat-test/1.0"
    assert record.headers["accept"] == "application/vnd.github+json"
    assert record.headers["authorization"] == f"Bearer {fake.token}"
    assert record.authorized


def test_sends_no_authorization_header_without_a_token(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    make_client(token="").get(f"/repos/{REPO}")

    (record,) = fake.requests
    assert "authorization" not in record.headers
    assert not record.authorized


def test_etag_round_trip_answers_304_with_the_token_and_costs_no_quota(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    client = make_client()
    first = client.get(f"/repos/{REPO}")
    assert first.status == 200 and first.data["full_name"] == REPO and first.etag
    assert client.rate_limit is not None
    remaining = client.rate_limit.remaining

    again = client.get(f"/repos/{REPO}", etag=first.etag)

    assert (again.status, again.data, again.etag) == (304, None, first.etag)
    assert fake.requests[-1].headers["if-none-match"] == first.etag
    assert fake.requests[-1].authorized
    assert client.rate_limit.remaining == remaining == fake.rate_limit_remaining


def test_changed_resource_answers_200_with_a_new_etag(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    client = make_client()
    first = client.get(f"/repos/{REPO}")
    fake.set_repo(REPO, topics=["demo", "pdf"])

    again = client.get(f"/repos/{REPO}", etag=first.etag)

    assert again.status == 200 and again.etag != first.etag
    assert again.data["topics"] == ["demo", "pdf"]


def test_last_modified_round_trip_answers_304(fake: FakeGitHub, make_client: MakeClient) -> None:
    client = make_client()
    first = client.get(f"/repos/{REPO}")
    assert first.last_modified

    again = client.get(f"/repos/{REPO}", last_modified=first.last_modified)

    assert again.status == 304
    assert fake.requests[-1].headers["if-modified-since"] == first.last_modified


def test_non_json_accept_returns_the_text(make_client: MakeClient) -> None:
    answer = make_client().get(
        f"/repos/{REPO}/contents/README.md", accept="application/vnd.github.raw"
    )
    assert answer.data == "# Hello\n"


# -- retries and transient failures ---------------------------------------------------------


def test_retries_a_502_then_succeeds(fake: FakeGitHub, make_client: MakeClient) -> None:
    fake.fail(rf"^/repos/{REPO}$", status=502, times=2)
    client = make_client(max_retries=3)

    answer = client.get(f"/repos/{REPO}")

    assert answer.status == 200
    assert [r.status for r in fake.requests] == [502, 502, 200]
    assert client.stats == {("repo", 502): 2, ("repo", 200): 1}


def test_gives_up_after_max_retries_with_upstream_unavailable(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.fail(r"/git/trees/", status=503)

    err = _error(lambda: make_client(max_retries=2).get(f"/repos/{REPO}/git/trees/main"))

    assert (err.code, err.status, err.permanent) == ("upstream_unavailable", 503, False)
    assert fake.count(kind="tree") == 3


def test_never_retries_a_404(fake: FakeGitHub, make_client: MakeClient) -> None:
    _error(lambda: make_client(max_retries=3).get("/repos/octo/missing"))
    assert fake.count() == 1


def test_a_timeout_is_transient_upstream_unavailable(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    # The fake holds its answers far past the client's timeout (stop() wakes them at the end).
    fake.delay(rf"^/repos/{REPO}$", 60.0)
    client = make_client(timeout=0.2, max_retries=1)

    err = _error(lambda: client.get(f"/repos/{REPO}"))

    # The client gave up on both attempts while the fake was still answering them.
    assert fake.in_flight_paths() == [f"/repos/{REPO}"] * 2
    assert fake.requests == []
    assert (err.code, err.status, err.permanent) == ("upstream_unavailable", None, False)
    assert "timed out" in err.message
    assert client.stats == {("repo", 0): 2}


def test_a_refused_connection_is_transient_upstream_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with GitHubClient(base_url=f"http://127.0.0.1:{port}", max_retries=1, backoff=0.01) as client:
        err = _error(lambda: client.get("/repos/o/r"))
    assert (err.code, err.permanent) == ("upstream_unavailable", False)


def test_invalid_json_is_upstream_unavailable(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/repos/o/r").respond_with_data(
        "<html>proxy error</html>", content_type="application/json"
    )
    with GitHubClient(base_url=httpserver.url_for("/")) as client:
        err = _error(lambda: client.get("/repos/o/r"))
    assert (err.code, err.status) == ("upstream_unavailable", 200)


# -- classification -------------------------------------------------------------------------


def test_404_is_permanent_upstream_not_found_with_githubs_message(
    make_client: MakeClient,
) -> None:
    err = _error(lambda: make_client().get("/repos/octo/missing"))

    assert (err.code, err.status, err.permanent) == ("upstream_not_found", 404, True)
    assert err.message == "GitHub answered 404 Not Found for /repos/octo/missing: Not Found"


def test_private_repository_is_not_found_without_the_token(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.add_repo("octo/secret", files={"a.md": "a"}, private=True)

    assert make_client().get("/repos/octo/secret").data["private"] is True
    err = _error(lambda: make_client(token="").get("/repos/octo/secret"))
    assert err.code == "upstream_not_found"


def test_bad_token_is_permanent_upstream_unauthorized_and_stops_the_client(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    client = make_client(token="not-the-token")
    err = _error(lambda: client.get(f"/repos/{REPO}"))

    assert (err.code, err.status, err.permanent) == ("upstream_unauthorized", 401, True)
    assert err.message.endswith(": Bad credentials")
    assert "not-the-token" not in err.message

    # The token will not get better: nothing more is sent.
    again = _error(lambda: client.get(f"/repos/{REPO}/git/ref/heads/main"))
    assert (again.code, again.status, again.permanent) == ("upstream_unauthorized", None, True)
    assert fake.count() == 1
    (record,) = fake.requests
    assert record.status == 401 and not record.authorized


def test_403_without_rate_limit_signs_is_upstream_forbidden_and_not_retried(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.fail(r"/contents/", status=403, message="Resource not accessible by integration")
    client = make_client()

    err = _error(lambda: client.get(f"/repos/{REPO}/contents/README.md"))

    assert (err.code, err.status, err.permanent) == ("upstream_forbidden", 403, True)
    assert "Resource not accessible by integration" in err.message
    assert fake.count() == 1 and client.concurrency == 8


def test_empty_repository_tree_409_is_upstream_not_found(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.add_repo("octo/empty", files={})

    err = _error(lambda: make_client().get("/repos/octo/empty/git/trees/main"))

    assert (err.code, err.status, err.permanent) == ("upstream_not_found", 409, True)
    assert "Git Repository is empty." in err.message


# -- rate limits ----------------------------------------------------------------------------


def test_exhausted_primary_limit_raises_rate_limited_then_sends_nothing(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.rate_limit_remaining = 0
    client = make_client(max_retries=3)
    reset_at = datetime.fromtimestamp(fake.rate_limit_reset, UTC)

    err = _error(lambda: client.get(f"/repos/{REPO}"))

    assert (err.code, err.status, err.permanent) == ("rate_limited", 403, False)
    assert err.reset_at == reset_at
    assert err.retry_after is not None and 3500 < err.retry_after <= 3600
    assert client.rate_limit == RateLimit(limit=5000, remaining=0, reset_at=reset_at)
    assert fake.count() == 1

    again = _error(lambda: client.get(f"/repos/{REPO}/git/ref/heads/main"))

    assert (again.code, again.reset_at, again.status) == ("rate_limited", reset_at, None)
    assert fake.count() == 1
    # Asking whether the window has reset stays possible: GitHub does not bill /rate_limit.
    assert client.get("/rate_limit").data["rate"]["remaining"] == 0


def test_short_retry_after_is_waited_inline_then_retried(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.fail(
        rf"^/repos/{REPO}$",
        status=403,
        times=1,
        message=SECONDARY_MESSAGE,
        headers={"Retry-After": "1"},
    )
    client = make_client(max_inline_wait=5.0)

    started = time.monotonic()
    answer = client.get(f"/repos/{REPO}")

    assert answer.status == 200
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in fake.requests] == [403, 200]
    assert client.concurrency == 4


def test_long_retry_after_raises_rate_limited_with_the_wait(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.fail(rf"^/repos/{REPO}$", status=429, headers={"Retry-After": "120"})
    client = make_client(max_inline_wait=10.0)

    err = _error(lambda: client.get(f"/repos/{REPO}"))

    assert (err.code, err.status, err.retry_after, err.permanent) == (
        "rate_limited",
        429,
        120.0,
        False,
    )
    assert fake.count() == 1


def test_secondary_limit_halves_concurrency_down_to_one(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    # Retry-After: 0 ends each pause at once, so every call reaches GitHub again.
    fake.fail(r"/git/blobs/", status=403, message=SECONDARY_MESSAGE, headers={"Retry-After": "0"})
    client = make_client(concurrency=8, max_inline_wait=0, max_retries=0)
    seen = []
    for _ in range(4):
        err = _error(lambda: client.get(f"/repos/{REPO}/git/blobs/{'0' * 40}"))
        assert err.code == "rate_limited" and err.retry_after == 0.0
        seen.append(client.concurrency)

    assert seen == [4, 2, 1, 1]
    assert fake.count() == 4


def test_in_flight_requests_never_exceed_the_concurrency_limit(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    gate = fake.hold(rf"^/repos/{REPO}$")
    client = make_client(concurrency=2)
    workers = [threading.Thread(target=client.get, args=(f"/repos/{REPO}",)) for _ in range(8)]
    for worker in workers:
        worker.start()

    # Two requests reach the fake together, and while they are held no third one follows:
    # the other six callers wait in the client. (The second wait can only miss a third
    # request on a stalled machine, never invent one.)
    assert gate.wait_for(2, timeout=30)
    assert not gate.wait_for(3, timeout=0.5)
    gate.release()
    for worker in workers:
        worker.join()

    assert fake.count(status=200) == 8
    assert fake.peak_in_flight == 2


# -- redirects and base URL -----------------------------------------------------------------


def test_follows_a_same_host_redirect_for_a_renamed_repository(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    fake.rename(REPO, "octo/renamed")

    answer = make_client().get(f"/repos/{REPO}")

    assert answer.data["full_name"] == "octo/renamed"
    assert answer.url_path == f"/repos/{REPO}"
    assert [r.status for r in fake.requests] == [301, 200]
    assert all(r.authorized for r in fake.requests)


def test_refuses_a_redirect_to_another_host_and_never_contacts_it(
    fake: FakeGitHub, make_client: MakeClient, httpserver: HTTPServer
) -> None:
    fake.fail(rf"^/repos/{REPO}$", status=302, headers={"Location": httpserver.url_for("/x")})

    err = _error(lambda: make_client().get(f"/repos/{REPO}"))

    assert (err.code, err.permanent) == ("upstream_forbidden", True)
    assert err.message == "redirect to another host refused"
    assert httpserver.log == []


def test_paths_are_appended_to_an_enterprise_base_url_prefix(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/api/v3/repos/o/r/contents/a b.md", query_string="ref=dev"
    ).respond_with_json({"type": "file"})

    with GitHubClient(base_url=httpserver.url_for("/api/v3")) as client:
        answer = client.get("/repos/o/r/contents/a b.md", params={"ref": "dev"})

    assert answer.data == {"type": "file"}
    assert answer.url_path == "/repos/o/r/contents/a b.md"


# -- secrets --------------------------------------------------------------------------------


def test_token_never_appears_in_errors_reprs_or_logs(
    fake: FakeGitHub, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.token = "ghp_s3cretTokenValue0123456789"
    caplog.set_level(logging.DEBUG)
    # The site's LOGGING config pins the "refresher" logger's level; look below it too.
    caplog.set_level(logging.DEBUG, logger="refresher.github")
    client = make_client(timeout=0.2, max_retries=0, max_inline_wait=0)
    wrong = make_client(token="ghp_wrongTokenValue9876543210", max_retries=0)
    fake.delay(r"/slow$", 2.0)
    fake.fail(r"/moved$", status=301, headers={"Location": "https://evil.example/steal"})
    fake.fail(r"/limited$", status=403, message=SECONDARY_MESSAGE)

    errors = [
        _error(lambda: client.get("/repos/octo/missing")),
        _error(lambda: client.get(f"/repos/{REPO}/slow")),
        _error(lambda: client.get(f"/repos/{REPO}/moved")),
        _error(lambda: client.get(f"/repos/{REPO}/limited")),
        _error(lambda: wrong.get(f"/repos/{REPO}")),
    ]

    assert {e.code for e in errors} == {
        "upstream_not_found",
        "upstream_unavailable",
        "upstream_forbidden",
        "upstream_unauthorized",
        "rate_limited",
    }
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(client), caplog.text]
    for secret in ("ghp_s3cretTokenValue0123456789", "ghp_wrongTokenValue9876543210"):
        assert not any(secret in text for text in texts)
    logged = [r.getMessage() for r in caplog.records if r.name == "refresher.github"]
    assert f"GET /repos/{REPO}/slow -> ReadTimeout" in "\n".join(logged)
    assert any(line.startswith("GET /repos/octo/missing -> 404 in ") for line in logged)


# -- small pieces ---------------------------------------------------------------------------


def test_rate_limit_as_dict_is_utc_with_z() -> None:
    snapshot = RateLimit(limit=60, remaining=7, reset_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert snapshot.as_dict() == {
        "limit": 60,
        "remaining": 7,
        "reset_at": "2025-01-02T03:04:05Z",
        "resource": "core",
    }


def test_errors_survive_pickling() -> None:
    err = GitHubError(code="rate_limited", message="later", status=429, retry_after=3.0)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.code, copy.message, copy.status, copy.retry_after) == (
        "rate_limited",
        "later",
        429,
        3.0,
    )


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/repos/o/r", "repo"),
        ("/repositories/12", "repo"),
        ("/repos/o/r/git/ref/heads/main", "ref"),
        ("/repos/o/r/git/tags/abc", "tag"),
        ("/repos/o/r/git/trees/abc", "tree"),
        ("/repos/o/r/git/blobs/abc", "blob"),
        ("/repos/o/r/contents", "contents"),
        ("/repos/o/r/contents/a/b.md", "contents"),
        ("/repos/o/r/commits/main", "commits"),
        ("/repos/o/r/contentsx", "other"),
        ("/rate_limit", "other"),
    ],
)
def test_endpoint_kind_names_the_endpoint(path: str, kind: str) -> None:
    assert endpoint_kind(path) == kind


# -- the fake itself ------------------------------------------------------------------------


def test_fake_blob_and_tree_shas_match_git(fake: FakeGitHub) -> None:
    fake.add_repo("octo/git", files={"hello.txt": "hello world\n", "docs/README.md": "# Docs\n"})

    expected_blob = hashlib.sha1(b"blob 12\x00hello world\n").hexdigest()
    assert fake.tree_sha("octo/git", "hello.txt") == expected_blob
    # `git write-tree` over the same two files.
    assert fake.tree_sha("octo/git", "") == "d77b8e5acd423f0a1d07e35e738a939e0f277482"
    assert fake.tree_sha("octo/git", "docs") == "38b05972b8c57251533b8e59ab51176a4725aa19"


def test_fake_sorts_tree_entries_the_way_git_does(fake: FakeGitHub) -> None:
    files = {"a.txt": "x\n", "a/b.txt": "y\n", "a0": "z\n", "a-b": "w\n"}
    fake.add_repo("octo/order", files=files)

    # `git write-tree`: a directory sorts as "a/", after "a.txt" and before "a0".
    assert fake.tree_sha("octo/order", "") == "84eb85ccd071e336ee6786d32682f38c70078629"


def test_fake_commit_elsewhere_leaves_a_directory_tree_sha_unchanged(fake: FakeGitHub) -> None:
    before_head = fake.head(REPO)
    before = fake.tree_sha(REPO, "skills/pdf")

    after_head = fake.commit(REPO, files={"README.md": "# Changed\n"})

    assert after_head != before_head and fake.head(REPO) == after_head
    assert fake.tree_sha(REPO, "skills/pdf") == before
    assert fake.tree_sha(REPO, "skills/pdf", ref=before_head) == before
    fake.commit(REPO, files={"skills/pdf/extra.md": "more\n"})
    assert fake.tree_sha(REPO, "skills/pdf") != before
    fake.commit(REPO, files={"skills/pdf/extra.md": None})
    assert fake.tree_sha(REPO, "skills/pdf") == before


def test_fake_serves_recursive_trees_blobs_and_truncation(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    client = make_client()
    head = fake.head(REPO)

    tree = client.get(f"/repos/{REPO}/git/trees/{head}", params={"recursive": "1"}).data

    assert tree["sha"] == fake.tree_sha(REPO, "") and tree["truncated"] is False
    paths = {e["path"]: e for e in tree["tree"]}
    assert list(paths) == ["README.md", "skills", "skills/pdf", "skills/pdf/SKILL.md"]
    assert paths["skills/pdf"]["mode"] == "040000" and paths["skills/pdf"]["type"] == "tree"
    blob_sha = paths["skills/pdf/SKILL.md"]["sha"]

    blob = client.get(f"/repos/{REPO}/git/blobs/{blob_sha}").data

    assert blob["encoding"] == "base64" and blob["size"] == len("---\nname: pdf\n---\n")
    assert all(len(line) <= 60 for line in blob["content"].splitlines())
    assert base64.b64decode(blob["content"]) == b"---\nname: pdf\n---\n"

    fake.truncate_trees(REPO)
    truncated = client.get(f"/repos/{REPO}/git/trees/{head}", params={"recursive": "1"}).data
    assert truncated["truncated"] is True and len(truncated["tree"]) < len(tree["tree"])


def test_fake_serves_refs_annotated_tags_commits_and_contents(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    client = make_client()
    head = fake.head(REPO)
    fake.tag(REPO, "v1", annotated=True)

    ref = client.get(f"/repos/{REPO}/git/ref/heads/main").data
    tag_ref = client.get(f"/repos/{REPO}/git/ref/tags/v1").data
    tag = client.get(f"/repos/{REPO}/git/tags/{tag_ref['object']['sha']}").data
    commit = client.get(f"/repos/{REPO}/commits/v1").data
    listing = client.get(f"/repos/{REPO}/contents/skills/pdf", params={"ref": "v1"}).data
    file = client.get(f"/repos/{REPO}/contents/README.md").data

    assert ref["ref"] == "refs/heads/main" and ref["object"] == ref["object"] | {
        "sha": head,
        "type": "commit",
    }
    assert tag_ref["object"]["type"] == "tag" and tag["object"]["sha"] == head
    assert commit["sha"] == head and commit["commit"]["tree"]["sha"] == fake.tree_sha(REPO, "")
    assert [(i["name"], i["type"]) for i in listing] == [("SKILL.md", "file")]
    assert base64.b64decode(file["content"]) == b"# Hello\n"
    with pytest.raises(GitHubError) as info:
        client.get(f"/repos/{REPO}/git/ref/heads/nope")
    assert info.value.status == 404


def test_fake_sends_githubs_rate_limit_headers_and_bills_only_non_304(
    fake: FakeGitHub, make_client: MakeClient
) -> None:
    client = make_client()
    first = client.get(f"/repos/{REPO}")
    client.get(f"/repos/{REPO}", etag=first.etag)
    client.get("/rate_limit")

    assert fake.rate_limit_remaining == 4999
    assert client.rate_limit is not None and client.rate_limit.remaining == 4999
    assert client.stats == {("repo", 200): 1, ("repo", 304): 1, ("other", 200): 1}


def test_a_redirect_without_a_query_keeps_the_request_parameters(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/repos/a/b/git/trees/abc").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/repositories/7/git/trees/abc")}
    )
    httpserver.expect_request(
        "/repositories/7/git/trees/abc", query_string="recursive=1"
    ).respond_with_json({"sha": "abc", "tree": [], "truncated": False})
    with GitHubClient(base_url=httpserver.url_for("/"), backoff=0.01) as client:
        answer = client.get("/repos/a/b/git/trees/abc", params={"recursive": "1"})
    assert answer.data["sha"] == "abc"


def test_a_deadline_bounds_retries_and_waits(fake: FakeGitHub, make_client: MakeClient) -> None:
    # The answer would come long after the deadline and well inside the client's timeout: only
    # the deadline can end the read, and nothing is retried after it.
    fake.delay(r"/git/blobs/", 60.0)
    client = make_client(timeout=120.0, max_retries=3)
    outcome: list[GitHubError] = []

    def read() -> None:
        try:
            client.get(f"/repos/{REPO}/git/blobs/{'0' * 40}", deadline=time.monotonic() + 0.5)
        except GitHubError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=30)  # a generous bound on a wait the deadline cuts at half a second

    assert not reader.is_alive(), "the deadline did not cut the read in flight"
    assert len(outcome) == 1 and outcome[0].deadline is True
    assert outcome[0].code == "upstream_unavailable"
    assert fake.in_flight_paths() == [f"/repos/{REPO}/git/blobs/{'0' * 40}"]  # one attempt
