"""A GitHub App's private key and the JWTs it signs (RS256, as GitHub documents them).

Apart from `apps` (which asks GitHub for installations and tokens) so that what checks a key
when a credential is stored needs no HTTP client: plain `cryptography` and PyJWT.
"""

import base64
import hashlib

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from refresher.exceptions import AppKeyError
from refresher.secrets import Secret

# GitHub refuses an `exp` more than 10 minutes ahead; a minute less leaves room for clock drift.
JWT_LIFETIME = 9 * 60
JWT_BACKDATE = 60
# A JWT is made again when it has less than this left.
JWT_RENEW_BEFORE = 60
MIN_KEY_BITS = 2048
MAX_PEM_CHARS = 16_384


def load_private_key(pem: Secret) -> RSAPrivateKey:
    """The RSA private key of a PEM text, as GitHub hands it out; AppKeyError otherwise."""
    text = pem.reveal().strip()
    if len(text) > MAX_PEM_CHARS:
        raise AppKeyError(f"the private key is longer than {MAX_PEM_CHARS} characters")
    if not text.startswith("-----BEGIN") or "PRIVATE KEY-----" not in text:
        raise AppKeyError(
            "the private key must be the PEM file GitHub gives (-----BEGIN RSA PRIVATE KEY-----)"
        )
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except TypeError:
        raise AppKeyError("the private key is encrypted; give the unencrypted PEM") from None
    except (ValueError, UnsupportedAlgorithm):
        raise AppKeyError("the private key is not a readable PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise AppKeyError("a GitHub App's private key is an RSA key; this one is not")
    if key.key_size < MIN_KEY_BITS:
        raise AppKeyError(f"the RSA key has {key.key_size} bits; at least {MIN_KEY_BITS}")
    return key


def key_fingerprint(key: RSAPrivateKey) -> str:
    """`SHA256:` and the base64 SHA-256 of the public key, as GitHub lists an app's keys."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def app_jwt(app_id: int, key: RSAPrivateKey, *, now: float) -> tuple[Secret, float]:
    """A JWT the app authenticates with, and when it expires (epoch seconds)."""
    issued = int(now) - JWT_BACKDATE
    expires = int(now) + JWT_LIFETIME
    token = jwt.encode({"iat": issued, "exp": expires, "iss": str(app_id)}, key, algorithm="RS256")
    return Secret(token), float(expires)
