"""Who may do what: every endpoint and action, for the owner, another user, staff and anonymous.

The owner and staff may read, change and refresh a collection; another user gets 404 (its
existence is not disclosed) and never sees it in a list; anonymous gets 401 from the API. The
schema, its docs and /healthz are public. The admin is for staff, within their permissions.
"""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from collections_app.models import Artifact, Collection
from refresher.models import RefreshRun, RunStatus
from tests.conftest import client_for
from tests.factories import ArtifactFactory, CollectionFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTORS = ("owner", "other", "staff", "anonymous")


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # {c}: the owner's collection, {a}: its artifact, {r}: its finished run
    expected: dict[str, int]
    body: Any = None
    admin: bool = False  # a browser session to the admin instead of a token to the API
    listed: str = ""  # for lists: the key of the owner's object that must (not) be shown


def codes(owner: int, other: int, staff: int, anonymous: int) -> dict[str, int]:
    return {"owner": owner, "other": other, "staff": staff, "anonymous": anonymous}


CASES: dict[str, Case] = {
    "collections-list": Case("GET", "/api/v1/collections/", codes(200, 200, 200, 401), listed="c"),
    "collections-create": Case(
        "POST", "/api/v1/collections/", codes(201, 201, 201, 401), body={"name": "New one"}
    ),
    "collections-retrieve": Case("GET", "/api/v1/collections/{c}/", codes(200, 404, 200, 401)),
    "collections-update": Case(
        "PUT",
        "/api/v1/collections/{c}/",
        codes(200, 404, 200, 401),
        body={"name": "Renamed", "description": "d"},
    ),
    "collections-partial-update": Case(
        "PATCH", "/api/v1/collections/{c}/", codes(200, 404, 200, 401), body={"description": "x"}
    ),
    "collections-delete": Case("DELETE", "/api/v1/collections/{c}/", codes(204, 404, 204, 401)),
    "collections-refresh": Case(
        "POST", "/api/v1/collections/{c}/refresh", codes(200, 404, 200, 401), body={}
    ),
    "collections-export": Case("GET", "/api/v1/collections/{c}/export", codes(200, 404, 200, 401)),
    # A local repository that is not there: the answer is a 200 naming it, and nothing is read.
    "collections-discover": Case(
        "POST",
        "/api/v1/collections/{c}/discover",
        codes(200, 404, 200, 401),
        body={"source": "git+file:///nonexistent/skillmeat/repo", "refresh": True},
    ),
    "artifacts-list": Case("GET", "/api/v1/artifacts/", codes(200, 200, 200, 401), listed="a"),
    # Filtering by another user's collection shows nothing, as if it had no artifacts.
    "artifacts-list-filtered-by-collection": Case(
        "GET", "/api/v1/artifacts/?collection={c}", codes(200, 200, 200, 401), listed="a"
    ),
    "artifacts-create": Case(
        "POST",
        "/api/v1/artifacts/",
        # Another user's collection reads as one that does not exist: a 404 naming the field.
        codes(201, 404, 201, 401),
        body={"collection": "{c}", "type": "command", "name": "new", "source": ""},
    ),
    "artifacts-retrieve": Case("GET", "/api/v1/artifacts/{a}/", codes(200, 404, 200, 401)),
    "artifacts-update": Case(
        "PUT",
        "/api/v1/artifacts/{a}/",
        codes(200, 404, 200, 401),
        body={"collection": "{c}", "type": "skill", "name": "local", "source": "./here"},
    ),
    "artifacts-partial-update": Case(
        "PATCH", "/api/v1/artifacts/{a}/", codes(200, 404, 200, 401), body={"tags": ["x"]}
    ),
    "artifacts-delete": Case("DELETE", "/api/v1/artifacts/{a}/", codes(204, 404, 204, 401)),
    "refresh-runs-list": Case(
        "GET", "/api/v1/refresh-runs/", codes(200, 200, 200, 401), listed="r"
    ),
    "refresh-runs-retrieve": Case("GET", "/api/v1/refresh-runs/{r}/", codes(200, 404, 200, 401)),
    "refresh-runs-rollback": Case(
        "POST", "/api/v1/refresh-runs/{r}/rollback", codes(200, 404, 200, 401)
    ),
    "schema": Case("GET", "/api/schema/", codes(200, 200, 200, 200)),
    "docs": Case("GET", "/api/docs/", codes(200, 200, 200, 200)),
    "healthz": Case("GET", "/healthz", codes(200, 200, 200, 200)),
    # The admin: non-staff (the owner included) and anonymous are sent to the login page; staff
    # without model permissions get the index but not the collections.
    "admin-index": Case("GET", "/admin/", codes(302, 302, 200, 302), admin=True),
    "admin-collection-change": Case(
        "GET",
        "/admin/collections_app/collection/{c}/change/",
        codes(302, 302, 403, 302),
        admin=True,
    ),
    "admin-refresh-action": Case(
        "POST",
        "/admin/collections_app/collection/",
        codes(302, 302, 403, 302),
        body={"action": "refresh_metadata", "_selected_action": ["{c}"], "apply": "1"},
        admin=True,
    ),
    "admin-collection-discover": Case(
        "POST",
        "/admin/collections_app/collection/{c}/discover/",
        codes(302, 302, 403, 302),
        body={"source": "git+file:///nonexistent/skillmeat/repo", "apply": "1"},
        admin=True,
    ),
    "admin-run-change": Case(
        "GET", "/admin/refresher/refreshrun/{r}/change/", codes(302, 302, 403, 302), admin=True
    ),
}


@dataclass
class World:
    users: dict[str, Any]
    collection: Collection
    artifact: Artifact
    run: RefreshRun

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(c=self.collection.pk, a=self.artifact.pk, r=self.run.pk)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@pytest.fixture
def world(settings, tmp_path) -> World:
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_LOCAL_ROOTS = ["/nonexistent"]
    settings.GIT_CACHE_DIR = tmp_path / "git-cache"
    owner = UserFactory(username="owner")
    users = {
        "owner": owner,
        "other": UserFactory(username="other"),
        "staff": UserFactory(username="staffer", is_staff=True),
        "anonymous": None,
    }
    collection = CollectionFactory(owner=owner, name="Owned")
    # A local source: the refresh reads nothing upstream, so no server is needed.
    artifact = ArtifactFactory(collection=collection, name="local", source="./here")
    now = timezone.now()
    run = RefreshRun.objects.create(
        collection=collection,
        requested_by=owner,
        status=RunStatus.COMPLETED,
        started_at=now,
        finished_at=now,
    )
    return World(users, collection, artifact, run)


def request(world: World, actor: str, case: Case):
    user = world.users[actor]
    path = world.fill(case.path)
    body = world.fill(case.body)
    if case.admin:
        client = Client()
        if user is not None:
            client.force_login(user)
        if case.method == "POST":
            return client.post(path, body)
        return client.get(path)
    api = client_for(user) if user is not None else Client()
    if case.method == "GET":
        return api.get(path)
    return api.generic(
        case.method,
        path,
        "" if body is None else json.dumps(body),
        content_type="application/json",
    )


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("name", list(CASES))
def test_authorization_matrix(world, name, actor):
    case = CASES[name]
    response = request(world, actor, case)

    assert response.status_code == case.expected[actor], response.content[:500]
    if not case.admin and response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "details", "request_id"}
    if case.admin and response.status_code == 302:
        assert response.url.startswith("/admin/login/")
    if case.listed and response.status_code == 200:
        shown = {item.get("id") or item["run_id"] for item in response.json()["results"]}
        own = str({"c": world.collection, "a": world.artifact, "r": world.run}[case.listed].pk)
        assert (own in shown) is (actor in ("owner", "staff"))


@pytest.mark.parametrize("actor", ("other", "anonymous"))
def test_refused_actors_change_nothing(world, actor):
    before = (
        Collection.objects.values_list("name", "description").get(),
        Artifact.objects.values_list("name", "tags", "source").get(),
        RefreshRun.objects.count(),
    )
    for name, case in CASES.items():
        if case.method != "GET" and not name.endswith("-create"):
            assert request(world, actor, case).status_code >= 300
    after = (
        Collection.objects.values_list("name", "description").get(),
        Artifact.objects.values_list("name", "tags", "source").get(),
        RefreshRun.objects.count(),
    )
    assert after == before
    world.run.refresh_from_db()
    assert world.run.rolled_back_at is None
