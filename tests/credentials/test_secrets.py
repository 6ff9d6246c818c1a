"""Secrets at rest (Fernet under CREDENTIAL_KEYS) and in memory (a value that never shows)."""

import logging
import pickle
import traceback

import pytest
from cryptography.fernet import Fernet

from refresher.exceptions import CredentialsDisabled, SecretUnreadable
from refresher.secrets import Secret, SecretBox, secret_box, tail_fingerprint

VALUE = "ghp_S3cr3tV4lu3ThatMustNeverShow0000"


def test_a_secret_hides_in_repr_str_formatting_and_logs(caplog):
    secret = Secret(VALUE)

    assert VALUE not in repr(secret)
    assert VALUE not in str(secret)
    assert VALUE not in f"{secret} {secret!r} {[secret]} { ({'token': secret}) }"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("refresher.test").debug("using %s and %r", secret, secret)
    assert VALUE not in caplog.text
    assert secret.reveal() == VALUE


def test_a_secret_in_a_frames_locals_stays_hidden_from_error_trackers():
    def fails(token: Secret) -> None:
        raise RuntimeError("upstream refused")

    try:
        fails(Secret(VALUE))
    except RuntimeError as exc:
        # What an error tracker captures: every frame with its local variables' reprs.
        captured = "".join(
            traceback.TracebackException.from_exception(exc, capture_locals=True).format()
        )
    assert "token = Secret('********')" in captured
    assert VALUE not in captured


def test_a_secret_cannot_be_pickled():
    with pytest.raises(TypeError):
        pickle.dumps(Secret(VALUE))


def test_secrets_compare_by_value():
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret(VALUE + "x")
    assert not Secret("")


def test_the_first_key_encrypts_and_every_key_decrypts():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_old = SecretBox([old]).seal(Secret(VALUE))

    both = SecretBox([new, old])
    assert both.open(sealed_old).reveal() == VALUE
    assert not both.is_current(sealed_old)
    sealed_new = both.seal(Secret(VALUE))
    assert both.is_current(sealed_new)
    assert SecretBox([new]).open(sealed_new).reveal() == VALUE
    assert SecretBox([new]).open(both.rotate(sealed_old)).reveal() == VALUE
    with pytest.raises(SecretUnreadable):
        SecretBox([new]).open(sealed_old)
    assert VALUE not in sealed_old and VALUE not in sealed_new


def test_an_unreadable_secret_says_so_without_the_token(settings):
    box = SecretBox([Fernet.generate_key().decode()])
    with pytest.raises(SecretUnreadable) as raised:
        box.open("gAAAAAB-not-a-real-token")
    assert "gAAAAAB" not in str(raised.value)


def test_no_keys_means_credentials_disabled(settings):
    settings.CREDENTIAL_KEYS = []
    with pytest.raises(CredentialsDisabled) as raised:
        secret_box()
    assert raised.value.code == "credentials_disabled"
    assert raised.value.status == 400
    assert raised.value.details == {"setting": "CREDENTIAL_KEYS"}


@pytest.mark.parametrize("value, shown", [(VALUE, "…0000"), ("short-password", "…"), ("", "…")])
def test_a_fingerprint_shows_four_characters_of_long_secrets_only(value, shown):
    assert tail_fingerprint(Secret(value)) == shown
