"""Settings from the environment and `.env`: empty means unset; `.env.example` works as it is."""

import json
import shutil

import pytest
from django.core.exceptions import ImproperlyConfigured
from dotenv import dotenv_values

from skillmeat_site import env
from tests.ops.procs import ROOT, run_python, site_env

EXAMPLE = ROOT / ".env.example"

SETTINGS_DUMP = """
import json
from django.conf import settings
from django.core.management import call_command
call_command("check", fail_level="ERROR")
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "database": str(settings.DATABASES["default"]["NAME"]),
    "debug": settings.DEBUG,
    "secret_key": bool(settings.SECRET_KEY),
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "cache": settings.CACHES["default"]["BACKEND"],
    "tasks": settings.TASKS["default"]["BACKEND"],
    "github": settings.GITHUB_API_URL,
    "token": settings.GITHUB_TOKEN,
    "log_format": settings.LOG_FORMAT,
    "log_level": settings.LOG_LEVEL,
    "cache_days": settings.HTTP_CACHE_MAX_AGE_DAYS,
    "upload_max": settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
}))
"""


def dump_settings(environment: dict[str, str]) -> dict:
    result = run_python(SETTINGS_DUMP, environment)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_local_defaults(found: dict, *, debug: bool = False) -> None:
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["database"] == str(ROOT / "var" / "db.sqlite3")
    assert found["debug"] is debug
    assert found["secret_key"]
    assert "127.0.0.1" in found["allowed_hosts"]
    assert found["cache"] == "django.core.cache.backends.db.DatabaseCache"
    assert found["tasks"] == "django_tasks_db.DatabaseBackend"
    assert found["github"] == "https://api.github.com"
    assert found["token"] == ""
    assert (found["log_format"], found["log_level"]) == ("plain", "INFO")
    assert found["cache_days"] == 30
    assert found["upload_max"] == 2_621_440


@pytest.mark.parametrize(
    "reader, default",
    [
        (lambda: env.env_str("SKILLMEAT_T", "fallback"), "fallback"),
        (lambda: env.env_bool("SKILLMEAT_T", True), True),
        (lambda: env.env_int("SKILLMEAT_T", 7, minimum=1), 7),
        (lambda: env.env_float("SKILLMEAT_T", 2.5), 2.5),
        (lambda: env.env_list("SKILLMEAT_T", ["a", "b"]), ["a", "b"]),
        (lambda: env.env_choice("SKILLMEAT_T", "plain", ("plain", "json")), "plain"),
    ],
    ids=["str", "bool", "int", "float", "list", "choice"],
)
@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "blank"])
def test_a_variable_set_but_empty_counts_as_unset(monkeypatch, reader, default, value):
    monkeypatch.setenv("SKILLMEAT_T", value)
    assert reader() == default


def test_bad_values_still_fail_loudly_with_the_name(monkeypatch):
    monkeypatch.setenv("SKILLMEAT_T", "sometimes")
    with pytest.raises(ImproperlyConfigured, match="SKILLMEAT_T"):
        env.env_bool("SKILLMEAT_T")
    with pytest.raises(ImproperlyConfigured, match="SKILLMEAT_T"):
        env.env_choice("SKILLMEAT_T", "plain", ("plain", "json"))


def test_the_env_file_fills_in_but_never_overrides_the_real_environment(monkeypatch, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SKILLMEAT_FROM_FILE=yes\nSKILLMEAT_BOTH=from-file\n# a comment\n")
    monkeypatch.setenv("SKILLMEAT_FROM_FILE", "placeholder")
    monkeypatch.delenv("SKILLMEAT_FROM_FILE")  # restored (unset) after the test
    monkeypatch.setenv("SKILLMEAT_BOTH", "from-environment")
    monkeypatch.delenv(env.ENV_FILE_VARIABLE, raising=False)

    assert env.load_env_file(env_file) == env_file

    assert env.env_str("SKILLMEAT_FROM_FILE") == "yes"
    assert env.env_str("SKILLMEAT_BOTH") == "from-environment"


def test_a_missing_env_file_is_fine_unless_named_explicitly(monkeypatch, tmp_path):
    monkeypatch.delenv(env.ENV_FILE_VARIABLE, raising=False)
    assert env.load_env_file(tmp_path / ".env") is None
    monkeypatch.setenv(env.ENV_FILE_VARIABLE, str(tmp_path / "typo.env"))
    with pytest.raises(ImproperlyConfigured, match=env.ENV_FILE_VARIABLE):
        env.load_env_file(tmp_path / ".env")


def test_env_example_copied_to_env_as_it_is_gives_a_working_local_site(tmp_path):
    copied = tmp_path / ".env"
    shutil.copy(EXAMPLE, copied)
    environment = site_env(tmp_path, DJANGO_ENV_FILE=str(copied), DJANGO_SECRET_KEY="")

    # A development site, with a key of its own kept beside it.
    assert_local_defaults(dump_settings(environment), debug=True)
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_env_example_exported_as_the_environment_gives_a_working_local_site(tmp_path):
    # `set -a; . ./.env; set +a` exports every line, the empty ones (DATABASE_URL=) included.
    exported = {key: value or "" for key, value in dotenv_values(EXAMPLE).items()}
    assert exported["DATABASE_URL"] == ""

    assert_local_defaults(dump_settings(site_env(tmp_path, **exported)), debug=True)


def test_env_example_documents_every_setting_read_from_the_environment():
    settings_source = (ROOT / "skillmeat_site" / "settings.py").read_text()
    documented = set(dotenv_values(EXAMPLE))
    import re

    read = set(
        re.findall(r'env_(?:str|bool|int|float|list|choice)\(\s*"([A-Z0-9_]+)"', settings_source)
    )
    assert read, "no typed readers found in settings.py"
    assert read - documented == set()
