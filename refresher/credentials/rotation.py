"""Re-encrypting every stored secret with the first of CREDENTIAL_KEYS (key rotation).

An operator puts a new key first in CREDENTIAL_KEYS, keeps the old ones after it, and runs
`manage.py rotate_credential_keys`; once it reports nothing left under an old key, the old keys
can go. Rows are read and written in batches of primary keys, each written only if it still
holds what was read (a secret replaced meanwhile is already under the new key), so the command
can run while the site serves, and again: a second run finds nothing to do.
"""

from dataclasses import dataclass, field

from django.db import models

from collections_app.models import Credential
from refresher.exceptions import SecretUnreadable
from refresher.models import GitHubAppInstallation
from refresher.secrets import SecretBox, secret_box


@dataclass
class Rotation:
    """What one rotation did, per kind of row."""

    rotated: int = 0
    current: int = 0  # already under the first key
    unreadable: list[str] = field(default_factory=list)  # rows no key opens (by id)


def rotate_all(*, batch_size: int = 500, box: SecretBox | None = None) -> dict[str, Rotation]:
    """Re-encrypt credentials' secrets and cached installation tokens with the first key."""
    box = box or secret_box()
    return {
        "credentials": _rotate(Credential, "secret_encrypted", box, batch_size),
        "installation tokens": _rotate(GitHubAppInstallation, "token_encrypted", box, batch_size),
    }


def _rotate(model: type[models.Model], column: str, box: SecretBox, batch_size: int) -> Rotation:
    outcome = Rotation()
    last = None
    while True:
        rows = model._default_manager.exclude(**{column: ""}).order_by("pk")
        if last is not None:
            rows = rows.filter(pk__gt=last)
        batch = list(rows.values_list("pk", column)[:batch_size])
        if not batch:
            return outcome
        last = batch[-1][0]
        for pk, sealed in batch:
            _rotate_one(model, column, box, pk, sealed, outcome)


def _rotate_one(
    model: type[models.Model],
    column: str,
    box: SecretBox,
    pk: object,
    sealed: str,
    outcome: Rotation,
) -> None:
    if box.is_current(sealed):
        outcome.current += 1
        return
    try:
        fresh = box.rotate(sealed)
    except SecretUnreadable:
        outcome.unreadable.append(str(pk))
        return
    # Written only over what was read: a secret replaced since is already under the new key.
    written = model._default_manager.filter(pk=pk, **{column: sealed}).update(**{column: fresh})
    if written:
        outcome.rotated += 1
    else:
        outcome.current += 1
