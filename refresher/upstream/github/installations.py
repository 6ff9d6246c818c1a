"""The database side of a GitHub App credential: its installations and their kept tokens.

`refresher.upstream.github.apps.GitHubApp` finds installations and mints tokens; this store keeps
them between runs and processes (`GitHubAppInstallation`), each token encrypted like every
secret. A token no key opens any more is as good as none: a new one is minted.
"""

import uuid
from collections.abc import Sequence

from django.db import transaction

from refresher.exceptions import SecretUnreadable
from refresher.models import GitHubAppInstallation
from refresher.secrets import SecretBox
from refresher.upstream.github.apps import Installation


class DatabaseInstallationStore:
    """An `InstallationStore` over one credential's `GitHubAppInstallation` rows."""

    def __init__(self, credential_id: uuid.UUID, box: SecretBox) -> None:
        self.credential_id = credential_id
        self._box = box

    def __repr__(self) -> str:
        return f"DatabaseInstallationStore(credential_id={self.credential_id!r})"

    def load(self) -> list[Installation]:
        rows = GitHubAppInstallation.objects.filter(credential_id=self.credential_id).order_by(
            "installation_id"
        )
        found = []
        for row in rows:
            token = None
            if row.token_encrypted:
                try:
                    token = self._box.open(row.token_encrypted)
                except SecretUnreadable:
                    token = None
            found.append(
                Installation(
                    row.installation_id,
                    row.account,
                    token,
                    row.expires_at if token is not None else None,
                )
            )
        return found

    def save(self, installations: Sequence[Installation]) -> None:
        # Rows go in installation order, so two runs saving the same ones cannot deadlock.
        with transaction.atomic():
            for installation in sorted(installations, key=lambda i: i.id):
                values: dict[str, object] = {}
                if installation.account:
                    values["account"] = installation.account
                if installation.token is not None:
                    values["token_encrypted"] = self._box.seal(installation.token)
                    values["expires_at"] = installation.expires_at
                GitHubAppInstallation.objects.update_or_create(
                    credential_id=self.credential_id,
                    installation_id=installation.id,
                    defaults=values,
                    create_defaults={"account": installation.account, **values},
                )
