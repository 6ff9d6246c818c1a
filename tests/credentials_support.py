"""Making credentials in tests: App keys in GitHub's PEM format, stored credentials of each kind."""

import itertools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import AbstractBaseUser

from collections_app.models import Credential, CredentialKind
from refresher.credentials.kinds import github_host, store_secret
from refresher.secrets import Secret

_names = itertools.count(1)


def new_app_key(bits: int = 2048) -> str:
    """An RSA private key in the PEM form GitHub's "Generate a private key" downloads."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def make_credential(
    owner: AbstractBaseUser,
    *,
    kind: str = CredentialKind.GITHUB_TOKEN,
    secret: str = "ghp_test0000000000000000000000000000abcd",
    name: str = "",
    **fields: object,
) -> Credential:
    """A stored credential (CREDENTIAL_KEYS must be set), its secret encrypted as the API does."""
    credential = Credential(
        owner=owner, name=name or f"credential-{next(_names)}", kind=kind, **fields
    )
    if kind != CredentialKind.GIT_BASIC:
        credential.host = github_host()
    store_secret(credential, Secret(secret))
    credential.save()
    return credential
