"""What each kind of credential holds, how its values are checked, and how its secret is kept.

Shared by the API's serializer and the admin's form, so both refuse the same things with the same
words: a token with spaces or control characters (it goes into an HTTP header), a git host
that is not one the site reads, a private key the site could not sign with.
"""

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.conf import settings

from collections_app.models import Credential, CredentialKind
from refresher.exceptions import AppKeyError, InvalidCredential
from refresher.secrets import Secret, secret_box, tail_fingerprint
from refresher.sources import GitPolicy, Source, SourceKind
from refresher.upstream.github.app_keys import MAX_PEM_CHARS as MAX_PEM_CHARS  # for the API
from refresher.upstream.github.app_keys import key_fingerprint, load_private_key

# Which non-secret fields each kind uses; the others must be left empty.
FIELDS: Mapping[str, frozenset[str]] = {
    CredentialKind.GITHUB_TOKEN: frozenset(),
    CredentialKind.GITHUB_APP: frozenset({"app_id", "installation_id"}),
    CredentialKind.GIT_BASIC: frozenset({"host", "username"}),
}
REQUIRED: Mapping[str, frozenset[str]] = {
    CredentialKind.GITHUB_TOKEN: frozenset(),
    CredentialKind.GITHUB_APP: frozenset({"app_id"}),
    CredentialKind.GIT_BASIC: frozenset({"host", "username"}),
}
MAX_TOKEN_CHARS = 4096
MAX_USERNAME_CHARS = 200
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def github_host() -> str:
    """The GitHub web host this site reads (`github.com`, or a GitHub Enterprise host)."""
    return (urlsplit(settings.GITHUB_WEB_URL).netloc or "github.com").lower()


def normalized_host(value: str) -> str:
    """`host` or `host:port` as git sources name it: lower-cased, `:443` left out."""
    host = value.lower()
    name, colon, port = host.partition(":")
    if not _HOST.fullmatch(name) or len(host) > 300:
        raise InvalidCredential("host", f"{value!r} is not a host name (host or host:port)")
    if colon and not (port.isdigit() and 0 < int(port) < 65536):
        raise InvalidCredential("host", f"{value!r} has no valid port")
    if port == "443":
        return name
    return host


def check_git_host(host: str) -> None:
    """A git_basic credential is for a host whose git sources the site reads."""
    probe = Source(SourceKind.GIT, url=f"https://{host}/", host=host)
    refusal = GitPolicy.from_settings().refusal(probe)
    if refusal:
        raise InvalidCredential(
            "host", f"{refusal}: the site reads no git source of it, so it would never be used"
        )


def check_username(value: str) -> str:
    if not value:
        raise InvalidCredential("username", "A git_basic credential needs a username.")
    bad = value != value.strip() or ":" in value or _CONTROL.search(value)
    if len(value) > MAX_USERNAME_CHARS or bad:
        raise InvalidCredential(
            "username",
            f"A username has at most {MAX_USERNAME_CHARS} characters, no ':', no control "
            "characters and no spaces at either end.",
        )
    return value


def check_secret(kind: str, secret: Secret) -> str:
    """Refuse a secret this kind cannot use; return its fingerprint."""
    value = secret.reveal()
    if kind == CredentialKind.GITHUB_APP:
        try:
            return key_fingerprint(load_private_key(secret))
        except AppKeyError as exc:
            raise InvalidCredential("private_key", f"{exc}.") from None
    if not value:
        raise InvalidCredential("secret", "The secret must not be empty.")
    if len(value) > MAX_TOKEN_CHARS:
        raise InvalidCredential(
            "secret", f"The secret is longer than {MAX_TOKEN_CHARS} characters."
        )
    if _CONTROL.search(value):
        raise InvalidCredential("secret", "The secret must not contain control characters.")
    return tail_fingerprint(secret)


def store_secret(credential: Credential, secret: Secret) -> None:
    """Check the secret for the credential's kind, then keep it encrypted with its fingerprint.

    Raises CredentialsDisabled (before looking at the secret) when the site has no keys.
    """
    box = secret_box()
    credential.fingerprint = check_secret(credential.kind, secret)
    credential.secret_encrypted = box.seal(secret)


def open_secret(credential: Credential) -> Secret:
    """The credential's secret; SecretUnreadable when no configured key opens it."""
    return secret_box().open(credential.secret_encrypted)
