"""`manage.py rotate_credential_keys`: every stored secret under the first key, idempotently."""

import io
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.utils import timezone

from collections_app.models import Credential
from refresher.credentials.kinds import open_secret
from refresher.credentials.rotation import Rotation, _rotate_one
from refresher.models import GitHubAppInstallation
from refresher.secrets import Secret, SecretBox
from refresher.upstream.github.apps import Installation
from refresher.upstream.github.installations import DatabaseInstallationStore
from tests.credentials_support import make_credential

pytestmark = pytest.mark.django_db


def rotate(**options) -> str:
    out = io.StringIO()
    call_command("rotate_credential_keys", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def old_and_new(settings, user, app_private_key):
    """Credentials and an installation token stored under an old key; then a new key first."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [old]
    tokens = [make_credential(user, secret=f"ghp_token{i:04d}abcdefghijklmnop") for i in range(5)]
    app = make_credential(user, kind="github_app", app_id=7, secret=app_private_key)
    DatabaseInstallationStore(app.pk, SecretBox([old])).save(
        [Installation(42, "acme", Secret("ghs_installation"), timezone.now() + timedelta(hours=1))]
    )
    settings.CREDENTIAL_KEYS = [new, old]
    return old, new, tokens, app


def test_rotation_moves_every_secret_and_token_under_the_first_key(settings, old_and_new):
    _old, new, tokens, app = old_and_new

    report = rotate(batch_size=2)

    assert "credentials: 6 re-encrypted, 0 already under the first key, 0 unreadable" in report
    assert "installation tokens: 1 re-encrypted" in report
    settings.CREDENTIAL_KEYS = [new]  # the old key is gone now
    for i, credential in enumerate(tokens):
        credential.refresh_from_db()
        assert open_secret(credential).reveal() == f"ghp_token{i:04d}abcdefghijklmnop"
    [installation] = DatabaseInstallationStore(app.pk, SecretBox([new])).load()
    assert installation.token == Secret("ghs_installation")


def test_a_second_rotation_finds_nothing_to_do(old_and_new):
    rotate()
    before = dict(Credential.objects.values_list("pk", "secret_encrypted"))

    report = rotate()

    assert "credentials: 0 re-encrypted, 6 already under the first key" in report
    assert dict(Credential.objects.values_list("pk", "secret_encrypted")) == before


def test_a_secret_no_key_opens_is_reported_and_the_rest_still_rotate(settings, old_and_new):
    _old, new, tokens, _app = old_and_new
    lost = tokens[0]
    Credential.objects.filter(pk=lost.pk).update(
        secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    )

    with pytest.raises(CommandError) as raised:
        rotate()

    assert str(lost.pk) in str(raised.value)
    assert raised.value.returncode == 1
    settings.CREDENTIAL_KEYS = [new]
    tokens[1].refresh_from_db()
    assert open_secret(tokens[1]).reveal().startswith("ghp_token0001")


def test_a_secret_replaced_while_rotating_is_not_overwritten(settings, old_and_new):
    old, new, tokens, _app = old_and_new
    credential = tokens[0]
    read = Credential.objects.get(pk=credential.pk).secret_encrypted
    # The owner stores a new secret between the rotation's read and its write.
    replaced = SecretBox([new, old]).seal(Secret("ghp_replaced_meanwhile_00000000"))
    Credential.objects.filter(pk=credential.pk).update(secret_encrypted=replaced)
    outcome = Rotation()

    _rotate_one(Credential, "secret_encrypted", SecretBox([new, old]), credential.pk, read, outcome)

    credential.refresh_from_db()
    assert credential.secret_encrypted == replaced
    assert outcome.rotated == 0


def test_without_keys_the_command_says_what_to_set(settings):
    settings.CREDENTIAL_KEYS = []
    with pytest.raises(CommandError, match="CREDENTIAL_KEYS"):
        rotate()


def test_a_token_kept_under_a_lost_key_reads_as_none(settings, old_and_new):
    _old, new, _tokens, app = old_and_new
    store = DatabaseInstallationStore(app.pk, SecretBox([new]))  # the old key is not given

    [installation] = store.load()

    assert installation.token is None and installation.expires_at is None
    assert GitHubAppInstallation.objects.get().account == "acme"
