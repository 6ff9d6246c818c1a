"""JSON bodies nested deeper than the interpreter's stack (SPEC 18): a 400 in the error shape on
every JSON endpoint and on the signed webhook, never a 500 RecursionError."""

import uuid

import pytest

from refresher.models import WebhookDelivery
from tests.factories import ArtifactFactory, CollectionFactory
from tests.webhooks.payloads import SECRET, deliver

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a": ' * 50_000 + "1" + "}" * 50_000


def assert_bad_request(response) -> None:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert set(body) == {"code", "message", "details", "request_id"}
    assert body["code"] == "invalid_request"


@pytest.fixture
def targets(user):
    collection = CollectionFactory(owner=user)
    artifact = ArtifactFactory(collection=collection, name="pdf", source="./local")
    return [
        ("post", "/api/v1/collections/"),
        ("patch", f"/api/v1/collections/{collection.pk}/"),
        ("post", f"/api/v1/collections/{collection.pk}/refresh"),
        ("post", f"/api/v1/collections/{collection.pk}/discover"),
        ("post", "/api/v1/artifacts/"),
        ("put", f"/api/v1/artifacts/{artifact.pk}/"),
    ]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_every_json_endpoint_answers_400(api, targets, body):
    for method, url in targets:
        response = api.generic(method.upper(), url, body, content_type="application/json")
        assert_bad_request(response)


def test_the_signed_webhook_answers_400_and_records_nothing(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    response = deliver(None, raw=DEEP.encode(), delivery=str(uuid.uuid4()))
    assert_bad_request(response)
    assert not WebhookDelivery.objects.exists()
