"""Two imports of the same manifest at once: one creates, the other updates; never a 500."""

import threading

import pytest
from django.db import connection

from collections_app.manifest.importer import import_manifest
from collections_app.models import Artifact, Collection
from tests.factories import UserFactory
from tests.manifest.conftest import fixture_text


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_one_manifest_create_one_collection():
    owner = UserFactory(username="racer")
    text = fixture_text("full.toml")
    start = threading.Barrier(2)
    results: list = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            results.append(import_manifest(text, owner=owner))
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(r.created for r in results) == [False, True]
    assert len({r.collection_id for r in results}) == 1
    assert Collection.objects.count() == 1
    assert Artifact.objects.count() == 6
    later = next(r for r in results if not r.created)
    assert {a.status for a in later.artifacts} == {"unchanged"}
