"""Manifests built to keep the TOML parser busy, too many artifacts, and the import throttle
(SPEC 18), through POST /api/v1/collections/import and manage.py import_collection."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from collections_app.manifest.bounds import bound_problem
from collections_app.models import Collection
from tests.manifest.conftest import fixture_text, manifest

pytestmark = pytest.mark.django_db

IMPORT = "/api/v1/collections/import"


def post_toml(api, text: str):
    return api.post(IMPORT, data=text, content_type="application/toml")


def refused(response, fragment: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_request"
    assert any(fragment in m for m in body["details"]["manifest"]), body


# Each of these took `tomllib` seconds to minutes; each is refused on its raw text.
BOMBS = {
    # 80 KB of one dotted key 40,000 parts deep: half a minute of tomllib before a 400.
    "dotted-key": ("x" + ".a" * 40_000 + " = 1\n", "dotted parts"),
    "dotted-table-header": ("[" + "a." * 40_000 + "a]\n", "dotted parts"),
    "dotted-inline-key": ("x = {" + "a." * 40_000 + "a = 1}\n", "dotted parts"),
    "many-keys": ("".join(f"k{i} = 1\n" for i in range(300_000)), "keys and values"),
    "long-array": ("x = [" + "1," * 1_000_000 + "]\n", "keys and values"),
    "nested-arrays": ("x = " + "[" * 40 + "]" * 40 + "\n", "nested"),
    "nested-inline-tables": ("x = " + "{a = " * 40 + "1" + "}" * 40 + "\n", "nested"),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_manifest_built_to_keep_the_parser_busy_is_refused_before_parsing(api, name):
    text, fragment = BOMBS[name]
    refused(post_toml(api, text), fragment)
    assert not Collection.objects.exists()


def test_strings_and_comments_do_not_count_as_structure():
    # Dots, brackets, `=` and commas inside strings and comments are text, not keys.
    text = manifest(
        'name = "pdf"\ntype = "skill"\norigin = "local"\n'
        'description = "' + "." * 200 + "[" * 100 + "=," * 20_000 + '"\n'
        "notes = '''" + "a." * 100 + "'''\n# " + "{" * 100 + "\n"
    )
    assert bound_problem(text, max_artifacts=5000) is None


def test_a_key_of_32_parts_is_still_read():
    assert bound_problem("x" + ".a" * 31 + " = 1\n", max_artifacts=5000) is None
    assert bound_problem("x" + ".a" * 32 + " = 1\n", max_artifacts=5000) is not None


def entries(n: int) -> list[str]:
    return [f'name = "s{i}"\ntype = "skill"\norigin = "local"' for i in range(n)]


def test_more_artifacts_than_allowed_are_refused_whole(api, settings):
    settings.IMPORT_MAX_ARTIFACTS = 3
    assert post_toml(api, manifest(*entries(3))).status_code == 201
    response = post_toml(api, manifest(*entries(4), collection='name = "other"'))
    refused(response, "IMPORT_MAX_ARTIFACTS")
    assert not Collection.objects.filter(name="other").exists()


def test_the_artifact_limit_holds_for_an_inline_array_too(api, settings):
    settings.IMPORT_MAX_ARTIFACTS = 3
    items = ", ".join(f'{{name = "s{i}", type = "skill", origin = "local"}}' for i in range(4))
    response = post_toml(api, f'artifacts = [{items}]\n[collection]\nname = "inline"\n')
    assert response.status_code == 400, response.content
    assert "IMPORT_MAX_ARTIFACTS" in response.json()["details"]["artifacts"][0]


def test_the_command_keeps_the_artifact_limit(user, settings, tmp_path):
    settings.IMPORT_MAX_ARTIFACTS = 3
    path = tmp_path / "collection.toml"
    path.write_text(manifest(*entries(4)))
    with pytest.raises(CommandError, match="IMPORT_MAX_ARTIFACTS"):
        call_command("import_collection", str(path), "--owner", user.username)
    assert not Collection.objects.exists()


def test_imports_are_throttled_per_user(api, other_api, monkeypatch):
    from collections_app.refresh_views import ImportThrottle

    monkeypatch.setattr(ImportThrottle, "THROTTLE_RATES", {"import": "2/min"})
    text = fixture_text("full.toml")
    codes = [post_toml(api, text).status_code for _ in range(3)]
    assert codes == [201, 200, 429]
    throttled = post_toml(api, text)
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    # Another user has a budget of their own.
    assert post_toml(other_api, text).status_code == 201
