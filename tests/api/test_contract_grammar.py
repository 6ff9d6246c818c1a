"""The contract run's own grammar (contract_hooks.py), and the site agreeing with it.

The hooks decide from SPEC.md alone which generated values are valid; these tests pin that
grammar to the specification's examples, and send the values it calls valid (edge cases a
random generator rarely hits) to the site, which must accept every one of them.
"""

import pytest

from tests.api.contract_hooks import (
    notify_url_valid,
    schedule_period,
    schedule_valid,
    source_valid,
    without_host_name,
)
from tests.factories import CollectionFactory

VALID_SOURCES = [
    "",
    "acme/skills",
    "acme/skills/",
    "acme/skills/skills/pdf",
    "acme/skills/skills/pdf/",
    "acme/skills/skills/pdf@v1.0.0",
    "acme/skills/skills/pdf@release/2026-01",
    "a-b/c.d_e/path with space/x.md@main",
    "acme/skills@" + "a" * 40,
    "https://github.com/acme/skills",
    "https://github.com/acme/skills.git",
    "https://github.com/acme/skills/",
    "https://github.com/acme/skills/tree/main/skills/pdf",
    "https://github.com/acme/skills/tree/v1/skills/pdf/",
    "https://github.com/acme/skills/blob/main/agents/reviewer.md",
    "./local/x",
    "/",
    "../up",
    "/abs/path",
    "~/mine",
    "file:relative",
    "https://gitlab.example.com/team/repo",
    "http://gitlab.example.com",
    "https://[2001:db8::1]:8443/x?y=1",
]
# What SPEC 3 and 12 refuse on this site (no git host, no local git): the site must say 400.
INVALID_SOURCES = [
    "acme",
    "acme/",
    "acme/skills/../secret",
    "acme/skills/./x",
    "acme/skills//x",
    "acme/skills@",
    "acme/skills@a..b",
    "acme/skills@-x",
    "acme/skills@x.lock",
    "-acme/skills",
    "a" * 40 + "/skills",
    "acme/" + "r" * 101,
    "acme/..",
    "https://github.com/acme",
    "https://github.com/acme/skills/issues/1",
    "https://github.com/acme/skills?tab=readme",
    "ftp://example.com/x",
    "git+https://git.example.com/team/repo.git//skills/pdf@v1",  # no git host allowed here
    "git+file:///srv/repo.git",  # no local git here
    "acme/skills/x\x01y",
]
# Where SPEC is silent the grammar is narrow: it does not call these valid, so the contract run
# swaps them, and the site may take them or not.
NARROW_SOURCES = [
    " acme/skills",
    "https://github.com/acme/skills/tree/main",
    "https://github.com/acme/skills/blob/main/dir/",
    "https://github.com/acme/skills/tree/main/a%2F..",
]
NARROW_SCHEDULES = ["@DAILY", "0  0 * * *", "@midnight", "*/60 * * * *", "0 0 * * 1/2"]

VALID_SCHEDULES = [
    "",
    "@hourly",
    "@daily",
    "@weekly",
    "*/15 * * * *",
    "0,15,30,45 * * * *",
    "0 */6 * * *",
    "0 6 * * 1-5",
    "0 0 * * 7",
    "0 0 * JAN MON",
    "30 2 * jan-mar mon-fri",
    "0 0 1-31/2 * *",
    "59 23 * * *",
    "0 0 29 2 *",
    "0 12 13 * 5",
]
INVALID_SCHEDULES = [
    "* * * * *",
    "*/5 * * * *",
    "0,10 * * * *",
    "*/5 3 * * *",  # dense at one hour only
    "0,59 0,23 * * *",  # one minute apart across midnight
    "5,55 0,23 1 * 1",  # ten minutes apart from a Monday the 31st to Tuesday the 1st
    "0 0 31 2 *",  # never fires
    "0 0 * *",
    "0 0 * * * *",
    "60 * * * *",
    "0 24 * * *",
    "0 0 0 * *",
    "0 0 * 13 *",
    "0 0 * * 8",
    "5-1 * * * *",
    "@yearly",
]
VALID_NOTIFY_URLS = [
    "",
    "http://127.0.0.1:9/notify",
    "https://127.0.0.1/hook?x=1&y=%41#frag",
    "http://10.0.0.1/",
    "http://192.168.1.20:8080/a/b",
    "http://[::1]:8080/hook",
    "http://[fd00::1]/x",
    "https://8.8.8.8/x",
    "HTTP://127.0.0.1/",
]
INVALID_NOTIFY_URLS = [
    "127.0.0.1/notify",
    "ftp://127.0.0.1/x",
    "http://user:pass@127.0.0.1/",
    "http://169.254.169.254/latest",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://127.0.0.1:0/",
    "http://127.0.0.1:70000/",
    "http://127.0.0.1/a b",
]


@pytest.mark.parametrize("source", VALID_SOURCES)
def test_the_grammar_takes_what_spec_3_accepts(source):
    assert source_valid(source)


@pytest.mark.parametrize("source", INVALID_SOURCES + NARROW_SOURCES)
def test_the_grammar_refuses_what_spec_3_and_12_refuse_here(source):
    assert not source_valid(source)


def test_a_git_source_is_valid_where_its_host_is_allowed():
    spec = "git+https://git.example.com/team/repo.git//skills/pdf@v1"
    assert source_valid(spec, git_hosts=frozenset({"git.example.com"}))
    assert not source_valid("git+https://git.example.com/../x.git", git_hosts=frozenset({"x"}))


@pytest.mark.parametrize("schedule", VALID_SCHEDULES)
def test_the_grammar_takes_schedules_of_at_least_the_minimum_period(schedule):
    assert schedule_valid(schedule)


@pytest.mark.parametrize("schedule", INVALID_SCHEDULES + NARROW_SCHEDULES)
def test_the_grammar_refuses_other_schedules(schedule):
    assert not schedule_valid(schedule)


def test_the_period_is_the_shortest_gap_between_two_firings():
    assert schedule_period("*/20 * * * *") == 20
    assert schedule_period("0 9,17 * * *") == 8 * 60
    assert schedule_period("5,55 0,23 29 2 1") == 10  # Monday 28 Feb 23:55, then 29 Feb 00:05


@pytest.mark.parametrize("url", VALID_NOTIFY_URLS)
def test_the_grammar_takes_urls_of_reachable_addresses(url):
    assert notify_url_valid(url)


@pytest.mark.parametrize("url", INVALID_NOTIFY_URLS)
def test_the_grammar_refuses_other_urls(url):
    assert not notify_url_valid(url)


def test_a_host_name_is_replaced_and_nothing_else():
    assert (
        without_host_name("https://hooks.example.com:8443/a?b#c") == "https://127.0.0.1:8443/a?b#c"
    )
    assert without_host_name("http://[::1]/x") == "http://[::1]/x"


# -- the site takes every value the grammar calls valid --------------------------------------------


@pytest.fixture
def collection(user):
    return CollectionFactory(owner=user)


@pytest.mark.django_db
@pytest.mark.parametrize("source", VALID_SOURCES)
def test_the_site_accepts_every_valid_source(api, collection, source):
    body = {"collection": str(collection.pk), "type": "skill", "name": "x", "source": source}
    answer = api.post("/api/v1/artifacts/", body, format="json")
    assert answer.status_code == 201, answer.json()


@pytest.mark.django_db
@pytest.mark.parametrize("source", INVALID_SOURCES)
def test_the_site_refuses_every_invalid_source(api, collection, source):
    body = {"collection": str(collection.pk), "type": "skill", "name": "x", "source": source}
    answer = api.post("/api/v1/artifacts/", body, format="json")
    assert answer.status_code == 400, answer.json()


@pytest.mark.django_db
@pytest.mark.parametrize("schedule", VALID_SCHEDULES)
def test_the_site_accepts_every_valid_schedule(api, collection, schedule):
    answer = api.patch(
        f"/api/v1/collections/{collection.pk}", {"refresh_schedule": schedule}, format="json"
    )
    assert answer.status_code == 200, answer.json()


@pytest.mark.django_db
@pytest.mark.parametrize("schedule", INVALID_SCHEDULES)
def test_the_site_refuses_every_invalid_schedule(api, collection, schedule):
    answer = api.patch(
        f"/api/v1/collections/{collection.pk}", {"refresh_schedule": schedule}, format="json"
    )
    assert answer.status_code == 400, answer.json()


@pytest.mark.django_db
@pytest.mark.parametrize("url", VALID_NOTIFY_URLS)
def test_the_site_accepts_every_valid_notify_url(api, collection, settings, url):
    settings.NOTIFY_ALLOW_PRIVATE = True
    answer = api.patch(f"/api/v1/collections/{collection.pk}", {"notify_url": url}, format="json")
    assert answer.status_code == 200, answer.json()
