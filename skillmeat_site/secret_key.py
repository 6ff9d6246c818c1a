"""Where the site's SECRET_KEY comes from (SPEC 18): never a constant in the code.

Sessions, CSRF tokens, password reset links and the messages cookie are all signed with it; a
key anyone can read lets anyone forge them. A site with DEBUG off must be given one
(`DJANGO_SECRET_KEY`) and refuses to start without it; a development site (DEBUG on) makes a
random key the first time and keeps it in a file only its user may read, so its sessions
survive restarts.
"""

import contextlib
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

MISSING = (
    "DJANGO_SECRET_KEY is not set. A site with DJANGO_DEBUG off does not start without one: "
    "set DJANGO_SECRET_KEY to a long random value, e.g. the output of "
    "python -c 'import secrets; print(secrets.token_urlsafe(50))'. "
    "(A development site, DJANGO_DEBUG=true, makes its own key in var/.)"
)


def secret_key(*, configured: str, debug: bool, key_file: Path) -> str:
    """The configured key; else, on a development site, the kept one; else refuse to start."""
    if configured:
        return configured
    if not debug:
        raise ImproperlyConfigured(MISSING)
    return kept_key(key_file)


def kept_key(path: Path) -> str:
    """The key in `path`, made (random, mode 0600) when there is none yet.

    The new key is written whole to a file of this process's own and then linked into place,
    which fails if another process got there first: whoever starts first, every process of the
    site reads the same complete key.
    """
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(50) + "\n")
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return path.read_text().strip()
