"""Admin fixtures: an operator with the permissions the refresh pages need, and an upstream."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from collections_app.models import Collection
from tests.factories import ArtifactFactory, CollectionFactory, UserFactory
from tests.upstream import add_skills_repo

OPERATOR_PERMISSIONS = [
    "collections_app.view_collection",
    "collections_app.change_collection",
    "collections_app.view_artifact",
    "collections_app.change_artifact",
    "refresher.view_refreshrun",
    "refresher.view_httpcacheentry",
]


def grant(user, *names: str) -> None:
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


@pytest.fixture
def operator(db):
    """A staff member who is not a superuser: only the permissions the refresh pages ask for."""
    user = UserFactory(username="operator", is_staff=True)
    grant(user, *OPERATOR_PERMISSIONS)
    return user


@pytest.fixture
def admin_ui(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def upstream(github):
    add_skills_repo(github)
    return github


@pytest.fixture
def collection(user, upstream) -> Collection:
    collection = CollectionFactory(owner=user, name="Team skills")
    ArtifactFactory(
        collection=collection,
        name="pdf",
        source="acme/skills/skills/pdf",
        description="Our own words about PDFs",
    )
    ArtifactFactory(collection=collection, name="changelog", source="acme/skills/skills/changelog")
    return collection


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets a fixture see, in its teardown, whether the test failed (the browser test then keeps
    # a screenshot and the page's HTML, which say far more than a Selenium traceback).
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
