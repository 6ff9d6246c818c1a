"""Share links: secret URLs Claude Code reads a collection's manifest by (SPEC 15).

The token is 256 random bits, shown once; the database keeps its SHA-256 alone, so a copy of the
database lets nobody read a manifest. A token is looked up by its hash in one query, whatever it
is: a well-formed token that was revoked and a string that never was a token go down the same
path and answer the same 404.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from collections_app.models import Collection, ShareLink

TOKEN_BYTES = 32
# `last_used_at` is written at most this often per link: a busy link stays a read.
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def absolute_url(request: HttpRequest, path: str) -> str:
    """`path` on this site: SITE_URL when set (behind a proxy), else the request's own host."""
    base = str(getattr(settings, "SITE_URL", ""))
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def manifest_path(token: str) -> str:
    """The path Claude Code is given: `/m/<token>/marketplace.json`."""
    return reverse("marketplace-shared", kwargs={"token": token})


@dataclass(frozen=True, slots=True)
class NewLink:
    """A link just made, with the token that exists nowhere else from now on."""

    link: ShareLink
    token: str


def create_link(
    collection: Collection,
    *,
    label: str = "",
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> NewLink:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink(collection=collection, label=label.strip(), token_hash=token_hash(token))
    if user is not None and user.pk is not None:
        link.created_by_id = user.pk
    link.save()
    return NewLink(link=link, token=token)


def find_link(token: str) -> ShareLink | None:
    """The live link of this token with its collection and the collection's owner (one query),
    or None for any other string."""
    return (
        ShareLink.objects.select_related("collection__owner")
        .filter(token_hash=token_hash(token))
        .first()
    )


def touch(link: ShareLink) -> None:
    """Record that the link was used, unless that was recorded within TOUCH_EVERY."""
    now = timezone.now()
    if link.last_used_at is not None and now - link.last_used_at < TOUCH_EVERY:
        return
    ShareLink.objects.filter(pk=link.pk).update(last_used_at=now)
    link.last_used_at = now
