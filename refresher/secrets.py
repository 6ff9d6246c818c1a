"""Secrets at rest and in memory: Fernet encryption under CREDENTIAL_KEYS, and a value that hides.

A stored credential's secret (a token, a password, an App's private key) and every installation
token minted from an App are kept encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from
`cryptography`). `CREDENTIAL_KEYS` lists Fernet keys: the first encrypts, every one decrypts, so an
operator rotates by putting a new key first and running `manage.py rotate_credential_keys`.

In memory a secret travels as a :class:`Secret`, whose `repr` and `str` never show it: a secret
that reaches a log line, an exception message or an error tracker's capture of local variables
shows as `Secret('********')`. Only the code that puts it on the wire calls :meth:`Secret.reveal`.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import NoReturn

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from refresher.exceptions import CredentialsDisabled, SecretUnreadable

SETTING = "CREDENTIAL_KEYS"
MASK = "********"
# A fingerprint shows the end of a secret only when that end is a small part of it.
FINGERPRINT_MIN_LENGTH = 16


class Secret:
    """A secret string that never shows itself when printed, logged or captured."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it (a header, git's environment)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        # Pickling (a task queue, a cache) would write the secret somewhere we do not control.
        raise TypeError("a Secret cannot be pickled")


class SecretBox:
    """Encrypts with the first of its keys and decrypts with any of them."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise CredentialsDisabled()
        self._current = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    def seal(self, secret: Secret) -> str:
        """The secret encrypted with the current key, as text for a database column."""
        return self._all.encrypt(secret.reveal().encode()).decode("ascii")

    def open(self, sealed: str) -> Secret:
        """The secret a column holds; raises SecretUnreadable when no key opens it."""
        try:
            return Secret(self._all.decrypt(sealed.encode("ascii")).decode())
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretUnreadable("no key in CREDENTIAL_KEYS decrypts this secret") from None

    def is_current(self, sealed: str) -> bool:
        """Whether the current (first) key already opens it: rotation can leave it alone."""
        try:
            self._current.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeError, ValueError):
            return False
        return True

    def rotate(self, sealed: str) -> str:
        """The same secret encrypted again with the current key."""
        try:
            return self._all.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretUnreadable("no key in CREDENTIAL_KEYS decrypts this secret") from None


def secret_box() -> SecretBox:
    """The box of the configured keys; raises CredentialsDisabled when there are none."""
    return SecretBox(list(getattr(settings, SETTING, None) or []))


def credentials_enabled() -> bool:
    return bool(getattr(settings, SETTING, None))


def tail_fingerprint(secret: Secret) -> str:
    """`…` and the secret's last four characters, as GitHub shows tokens; only `…` when the
    secret is so short that four characters would give away much of it."""
    value = secret.reveal()
    return f"…{value[-4:]}" if len(value) >= FINGERPRINT_MIN_LENGTH else "…"
