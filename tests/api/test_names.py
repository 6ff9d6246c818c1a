"""Names refuse control and invisible formatting characters (SPEC 18) through the API, the admin,
import and discovery; unusual but allowed names (accents, emoji, CJK) survive export -> import."""

import re
import tomllib
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from collections_app.fields import NAME_PATTERN, NameField
from collections_app.manifest.export import export_manifest
from collections_app.models import Artifact, Collection
from collections_app.validators import INVISIBLE_RANGES
from tests.factories import ArtifactFactory, CollectionFactory, UserFactory
from tests.gitrepo import LocalRepo

pytestmark = pytest.mark.django_db

# What the red-team pass got in: CR, LF, ESC, TAB, a right-to-left override, a zero-width space;
# and a tag character, a soft hyphen, a BOM and the line separator.
HOSTILE = {
    "cr": "Bob\rcol",
    "lf": "Bob\ncol",
    "esc": "Bob\x1b[31mcol",
    "tab": "Bob\tcol",
    "rlo": "Bob\u202ecol",
    "zwsp": "Bob col\u200b",
    "tag": "Bob\U000e0041col",
    "soft-hyphen": "Bob\u00adcol",
    "bom": "\ufeffBob col",
    "line-separator": "Bob\u2028col",
}
ALLOWED = ["Café crème", "résumé-ü", "🚀 launch", "数据 清理", "Ελληνικά", "עברית skills"]


def test_the_ranges_are_the_running_pythons_unicode_categories():
    expected = [
        code
        for code in range(0x110000)
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp")
    ]
    listed = [code for lo, hi in INVISIBLE_RANGES for code in range(lo, hi + 1)]
    assert listed == expected


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_the_api_refuses_them_in_collection_and_artifact_names(api, user, kind):
    name = HOSTILE[kind]
    response = api.post("/api/v1/collections/", {"name": name}, format="json")
    assert response.status_code == 400, response.content
    assert "name" in response.json()["details"]
    collection = CollectionFactory(owner=user, name="Bob col")
    renamed = api.patch(f"/api/v1/collections/{collection.pk}/", {"name": name}, format="json")
    assert renamed.status_code == 400
    created = api.post(
        "/api/v1/artifacts/",
        {"collection": str(collection.pk), "type": "skill", "name": name, "source": "./x"},
        format="json",
    )
    assert created.status_code == 400 and "name" in created.json()["details"]
    assert list(Collection.objects.values_list("name", flat=True)) == ["Bob col"]
    assert not Artifact.objects.exists()


def test_a_character_the_documents_pattern_cannot_state_is_still_refused(api):
    # U+E0041 (a tag character) lies beyond the BMP, where the OpenAPI pattern says nothing.
    name = "Bob\U000e0041col"
    assert re.search(NAME_PATTERN, name)
    response = api.post("/api/v1/collections/", {"name": name}, format="json")
    assert response.status_code == 400


def test_two_collections_that_look_alike_cannot_both_exist(api, user):
    assert api.post("/api/v1/collections/", {"name": "Bob col"}, format="json").status_code == 201
    twin = api.post("/api/v1/collections/", {"name": "Bob col\u200b"}, format="json")
    assert twin.status_code == 400


def test_the_admin_refuses_them(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        "/admin/collections_app/collection/add/",
        {
            "owner": admin.pk,
            "name": HOSTILE["rlo"],
            "description": "",
            "auto_refresh_mode": "check_only",
            "refresh_schedule": "",
            "notify_url": "",
            "notify_secret": "",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"invisible formatting characters" in response.content
    assert not Collection.objects.exists()


def test_import_refuses_them_in_every_name(api):
    bad_collection = f'[collection]\nname = "{HOSTILE["esc"].replace(chr(27), "\\u001b")}"\n'
    response = api.post(
        "/api/v1/collections/import", data=bad_collection, content_type="application/toml"
    )
    assert response.status_code == 400 and "collection.name" in response.json()["details"]
    bad_artifact = (
        '[collection]\nname = "ok"\n[[artifacts]]\nname = "a\\u202eb"\ntype = "skill"\n'
        'origin = "local"\n'
    )
    response = api.post(
        "/api/v1/collections/import", data=bad_artifact, content_type="application/toml"
    )
    assert response.status_code == 400, response.content
    assert not Collection.objects.exists()
    given_name = api.post(
        "/api/v1/collections/import?name=x%E2%80%8By",
        data='[collection]\nname = "ok"\n',
        content_type="application/toml",
    )
    assert given_name.status_code == 400 and "name" in given_name.json()["details"]


def test_a_discovered_name_with_them_is_an_invalid_entry(api, user, settings, tmp_path):
    settings.GIT_ALLOW_LOCAL = True
    settings.GIT_LOCAL_ROOTS = [str(tmp_path)]
    settings.GIT_CACHE_DIR = tmp_path / "cache"
    repo = LocalRepo(tmp_path / "acme" / "kit")
    repo.commit(
        {
            "skills/sneaky/SKILL.md": '---\nname: "pdf\\u202etools"\n---\nBody.\n',
            "skills/plain/SKILL.md": "---\nname: plain\n---\nBody.\n",
        }
    )
    collection = CollectionFactory(owner=user)
    response = api.post(
        f"/api/v1/collections/{collection.pk}/discover",
        {"source": repo.source(), "dry_run": True},
        format="json",
    )
    assert response.status_code == 200, response.content
    found = {a["path"]: (a["status"], a["reason"]) for a in response.json()["artifacts"]}
    assert found["skills/sneaky"] == ("invalid", "invalid_name")
    assert found["skills/plain"] == ("found", "")


def test_unusual_but_allowed_names_survive_export_and_import(api, user):
    collection = CollectionFactory(owner=user, name="Café 🍰 收藏")
    for name in ALLOWED:
        ArtifactFactory(collection=collection, name=name, source="./local")
    exported = api.get(f"/api/v1/collections/{collection.pk}/export")
    assert exported.status_code == 200
    text = exported.content.decode()
    assert {a["name"] for a in tomllib.loads(text)["artifacts"]} == set(ALLOWED)

    other = UserFactory(username="carol")
    from tests.conftest import client_for

    imported = client_for(other).post(
        "/api/v1/collections/import", data=text, content_type="application/toml"
    )
    assert imported.status_code == 201, imported.content
    copy = Collection.objects.get(owner=other)
    assert copy.name == "Café 🍰 收藏"
    assert set(copy.artifacts.values_list("name", flat=True)) == set(ALLOWED)
    # And what the copy exports, its owner's import takes back unchanged.
    again = client_for(other).post(
        "/api/v1/collections/import", data=export_manifest(copy), content_type="application/toml"
    )
    assert again.status_code == 200
    assert {a["status"] for a in again.json()["artifacts"]} == {"unchanged"}


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.text(max_size=12) | st.sampled_from([*HOSTILE.values(), *ALLOWED, " a\t", "\x85"]))
def test_the_name_pattern_is_exactly_the_name_rules(text):
    # The document states the rule within the BMP; beyond it the server refuses more.
    assume(not any(ord(c) > 0xFFFF and unicodedata.category(c) == "Cf" for c in text))
    try:
        NameField().run_validation(text)
        accepted = True
    except serializers.ValidationError:
        accepted = False
    assert bool(re.search(NAME_PATTERN, text)) == accepted, repr(text)
