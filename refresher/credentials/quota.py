"""What is left of a credential's quotas: its token's, or each of its App's installations'.

`GET /api/v1/credentials/{id}` shows it: the state every process shares for the accounts the
credential reads as (refresher.upstream.github.quota), in one query, never the secret (a token's
account is a fingerprint of it).
"""

from django.conf import settings
from django.utils import timezone

from collections_app.models import Credential, CredentialKind
from refresher.exceptions import SecretUnreadable
from refresher.secrets import secret_box
from refresher.upstream.github.quota import (
    account_key,
    installation_account,
    load_states,
    state_json,
)


def credential_quota(credential: Credential) -> list[dict[str, object]]:
    """Per account the credential reads GitHub as: what is left, and any pause."""
    api = settings.GITHUB_API_URL
    accounts: dict[str, str] = {}
    if credential.kind == CredentialKind.GITHUB_TOKEN:
        try:
            token = secret_box().open(credential.secret_encrypted)
        except SecretUnreadable:
            return []
        accounts[account_key(api, token.reveal())] = "token"
    elif credential.kind == CredentialKind.GITHUB_APP:
        for ident, owner in credential.installations.values_list("installation_id", "account"):
            accounts[installation_account(api, ident)] = f"installation {ident} ({owner})"
    states = load_states(accounts)
    now = timezone.now()
    return [
        {"account": label, **state_json(states[account], now)}
        for account, label in accounts.items()
        if account in states
    ]
