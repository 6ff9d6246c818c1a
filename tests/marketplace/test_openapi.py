"""The marketplace operations' OpenAPI declarations say what the server does (SPEC 15)."""

from io import StringIO

import pytest
import yaml
from django.core.management import call_command

from collections_app.marketplace.manifest import OMISSION_REASONS

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("spectacular", stdout=out)
    return yaml.safe_load(out.getvalue())


def test_the_share_links_429_declares_its_retry_after_header(schema):
    throttled = schema["paths"]["/m/{token}/marketplace.json"]["get"]["responses"]["429"]
    header = throttled["headers"]["Retry-After"]
    assert header["required"] is True
    assert header["schema"]["type"] == "integer"


def test_making_and_revoking_links_declare_the_403_of_staff_who_may_not(schema):
    links = "/api/v1/collections/{id}/share-links/"
    assert "403" in schema["paths"][links]["post"]["responses"]
    assert "403" in schema["paths"][links + "{link_id}/"]["delete"]["responses"]


def test_a_made_links_answer_warns_that_it_reads_the_whole_manifest(schema):
    made = schema["paths"]["/api/v1/collections/{id}/share-links/"]["post"]["responses"]["201"]
    assert "read capability for the whole manifest" in made["description"]
    assert "private repositories" in made["description"]


def test_the_omission_reasons_are_the_documented_enum(schema):
    reasons = schema["components"]["schemas"]["MarketplaceOmitted"]["properties"]["reason"]
    enum = schema["components"]["schemas"][reasons["$ref"].split("/")[-1]]["enum"]
    assert set(enum) == set(OMISSION_REASONS) and "modified_locally" in enum
