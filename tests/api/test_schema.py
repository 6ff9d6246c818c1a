import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_openapi_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    # --fail-on-warn turns every drf-spectacular warning into a failure; --validate checks the
    # document against the OpenAPI 3 JSON schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/collections/" in text
    assert "RefreshError" in text


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/", "/api/schema/"])
def test_docs_pages_are_served(client, path):
    assert client.get(path).status_code == 200


def test_swagger_ui_uses_local_assets(client):
    page = client.get("/api/docs/").content.decode()
    # Every script and stylesheet comes from this site, none from a CDN.
    assert not re.search(r"""(src|href)=["']https?://""", page)
    assert "jsdelivr" not in page and "unpkg" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page


def test_swagger_assets_are_served_with_debug_off(client, settings):
    settings.DEBUG = False
    page = client.get("/api/docs/").content.decode()
    asset = re.search(r'"(/static/drf_spectacular_sidecar/swagger-ui-dist/[^"]+\.js)"', page)
    assert asset, page
    response = client.get(asset.group(1))
    assert response.status_code == 200
