"""Typed readers for settings that come from the environment, and the `.env` file that feeds it.

Each reader fails loudly with the variable's name when a value cannot be parsed, so a typo in a
deployment shows up at start-up instead of as a strange default. A variable that is set but empty
(or only blanks) counts as unset everywhere: `DATABASE_URL=` in a copied `.env.example`, or an
exported empty variable, means "use the default", never "parse the empty string".
"""

import base64
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# Names a `.env` file other than the project root's (tests, or several sites on one checkout).
ENV_FILE_VARIABLE = "DJANGO_ENV_FILE"


def load_env_file(default: Path) -> Path | None:
    """Read `.env` (or the file DJANGO_ENV_FILE names) into the environment, when it exists.

    Variables already in the real environment win: a deployment's own settings are never
    overridden by a file left in the checkout. Returns the file read, or None.
    """
    named = _raw(ENV_FILE_VARIABLE)
    path = Path(named) if named else default
    if named and not path.is_file():
        raise ImproperlyConfigured(f"{ENV_FILE_VARIABLE} names {path}, which is not a file")
    if not path.is_file():
        return None
    load_dotenv(path, override=False)
    return path


def _raw(name: str) -> str | None:
    """The variable's value, stripped; None when it is unset, empty or blank."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_str(name: str, default: str = "") -> str:
    raw = _raw(name)
    return default if raw is None else raw


def env_bool(name: str, default: bool = False) -> bool:
    raw = _raw(name)
    if raw is None:
        return default
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = _raw(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_fernet_keys(name: str) -> list[str]:
    """Comma-separated Fernet keys (32 bytes in url-safe base64, as `Fernet.generate_key()`
    makes them). A malformed key stops the site with its position, never its value: the
    message may reach a log."""
    keys = env_list(name, [])
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, UnicodeError):
            raw = b""
        if len(key) != 44 or len(raw) != 32:
            raise ImproperlyConfigured(
                f"{name}: key {position} of {len(keys)} is not a Fernet key (32 bytes in "
                "url-safe base64, 44 characters)"
            )
    return keys
