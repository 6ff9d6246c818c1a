"""A run's `Access`: its collection's credentials in order, decrypted, and the site token's reach.

Read on the engine's thread before any request (one query), so that providers get plain values
and never touch the database.
"""

import uuid
from collections.abc import Collection as Ids

from django.conf import settings
from django.utils import timezone

from collections_app.models import Collection, Credential, CredentialKind
from refresher.credentials.kinds import github_host
from refresher.exceptions import SecretUnreadable
from refresher.secrets import Secret, SecretBox
from refresher.upstream.access import (
    Access,
    AppCredential,
    CredentialRef,
    GitCredential,
    TokenCredential,
)


def site_token_reads_private(owner_is_staff: bool) -> bool:
    """SITE_TOKEN_PRIVATE_REPOS: `all`, `none`, or (`staff`) the collection's owner is staff."""
    policy = getattr(settings, "SITE_TOKEN_PRIVATE_REPOS", "staff")
    if policy == "all":
        return True
    if policy == "none":
        return False
    return owner_is_staff


_COLUMNS = (
    "id",
    "name",
    "kind",
    "host",
    "username",
    "app_id",
    "installation_id",
    "secret_encrypted",
)


def access_for(collection: Collection) -> Access:
    """The collection's credentials, in its order, as the providers take them (one query: the
    owner's staff flag and every credential, joined)."""
    rows = (
        Collection.objects.filter(pk=collection.pk)
        .values_list(
            "owner__is_staff",
            *(f"credential_links__credential__{column}" for column in _COLUMNS),
        )
        .order_by("credential_links__position")
    )
    keys = list(getattr(settings, "CREDENTIAL_KEYS", None) or [])
    box = SecretBox(keys) if keys else None
    tokens: list[TokenCredential] = []
    apps: list[AppCredential] = []
    logins: list[GitCredential] = []
    staff = False
    for owner_is_staff, *values in rows:
        staff = bool(owner_is_staff)  # the same on every row
        row = dict(zip(_COLUMNS, values, strict=True))
        if row["id"] is None:
            continue  # the collection lists no credential
        ref = CredentialRef(row["id"], row["name"])
        secret, refused = _open(box, row["secret_encrypted"])
        if row["kind"] == CredentialKind.GIT_BASIC:
            logins.append(GitCredential(ref, row["host"], row["username"], secret, refused))
            continue
        if not refused and row["host"] != github_host():
            # A GitHub secret goes only to the GitHub host it was stored for.
            refused = f"it was stored for {row['host']}, and this site reads {github_host()}"
        if row["kind"] == CredentialKind.GITHUB_TOKEN:
            tokens.append(TokenCredential(ref, secret, refused))
        else:
            installation = row["installation_id"]
            apps.append(AppCredential(ref, row["app_id"] or 0, secret, installation, refused))
    return Access(
        tokens=tuple(tokens),
        apps=tuple(apps),
        git_logins=tuple(logins),
        site_private=site_token_reads_private(staff),
    )


def _open(box: SecretBox | None, sealed: str) -> tuple[Secret, str]:
    """The secret, or why it cannot be had."""
    if box is None:
        return Secret(""), "the site has no CREDENTIAL_KEYS to decrypt it"
    try:
        return box.open(sealed), ""
    except SecretUnreadable:
        return Secret(""), "its secret cannot be decrypted with CREDENTIAL_KEYS"


def mark_used(ids: Ids[uuid.UUID]) -> None:
    """Note when credentials were last used (one UPDATE, none when nothing was read with one)."""
    if ids:
        Credential.objects.filter(pk__in=list(ids)).update(last_used_at=timezone.now())
