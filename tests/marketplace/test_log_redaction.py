"""A share link's token never reaches the logs (SPEC 15): Django writes the path of every 4xx
and 5xx answer, and the site's own 500 line names the path too."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from collections_app.marketplace import views
from collections_app.marketplace.views import ShareLinkThrottle
from collections_app.models import ShareLink
from skillmeat_site.logs import JsonFormatter, RedactShareTokens
from tests.factories import ArtifactFactory, CollectionFactory
from tests.marketplace_kit import share_link_url

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["plain", "json"])
def console(request) -> Iterator[io.StringIO]:
    """The console handler the site's LOGGING configures, writing into a buffer, in either
    LOG_FORMAT."""
    [handler] = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactShareTokens) for f in h.filters)
    ]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    old_stream, old_formatter = handler.setStream(stream), handler.formatter
    if request.param == "json":
        handler.setFormatter(JsonFormatter())
    yield stream
    handler.setStream(old_stream)
    handler.setFormatter(old_formatter)


def token_of(path: str) -> str:
    return path.split("/")[2]


def test_no_token_in_the_logs_of_404_409_429_and_500_answers(user, synced, console, monkeypatch):
    tokens: list[str] = []
    client = APIClient(raise_request_exception=False)

    # 404: a revoked link.
    revoked = share_link_url(synced)
    ShareLink.objects.all().delete()
    tokens.append(token_of(revoked))
    assert client.get(revoked).status_code == 404

    # 409: a collection with nothing to install.
    empty = CollectionFactory(owner=user, name="Empty")
    ArtifactFactory(collection=empty, name="unsynced")
    conflict = share_link_url(empty)
    tokens.append(token_of(conflict))
    assert client.get(conflict).status_code == 409

    # 429: past the budget.
    monkeypatch.setattr(ShareLinkThrottle, "rate", "1/min", raising=False)
    busy = share_link_url(synced)
    tokens.append(token_of(busy))
    assert client.get(busy, REMOTE_ADDR="203.0.113.9").status_code == 200
    assert client.get(busy, REMOTE_ADDR="203.0.113.9").status_code == 429
    monkeypatch.setattr(ShareLinkThrottle, "rate", None, raising=False)

    # 500: the view fails.
    def explode(collection):
        raise RuntimeError(f"cannot read {collection.pk}")

    monkeypatch.setattr(views, "marketplace_of", explode)
    broken = share_link_url(synced)
    tokens.append(token_of(broken))
    assert client.get(broken).status_code == 500

    text = console.getvalue()
    for needle in ("Not Found", "Conflict", "Too Many Requests", "Internal Server Error"):
        assert f"{needle}: /m/<redacted>/marketplace.json" in text, text
    assert "unhandled error while serving /m/<redacted>/marketplace.json" in text
    assert "RuntimeError: cannot read" in text  # the traceback is still there
    for token in tokens:
        assert token not in text
    if text.lstrip().startswith("{"):
        assert all(json.loads(line) for line in text.splitlines())
