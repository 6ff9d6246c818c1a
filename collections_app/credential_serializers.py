"""Serializers of credentials (SPEC 16): write-only secrets, kind-specific fields, the test answer.

A secret goes in (`secret`, or `private_key` for a GitHub App) and never comes out: answers carry
its `fingerprint`. The secret is wrapped in a `Secret` as soon as it is read, so nothing that
prints the validated data can show it.
"""

from typing import Any

from django.db import IntegrityError, transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from collections_app.fields import StrictCharField, StrictModelSerializer
from collections_app.models import Credential, CredentialKind
from collections_app.validators import validate_name_characters
from refresher.credentials.kinds import (
    FIELDS,
    MAX_PEM_CHARS,
    MAX_TOKEN_CHARS,
    MAX_USERNAME_CHARS,
    REQUIRED,
    InvalidCredential,
    check_git_host,
    check_secret,
    check_username,
    github_host,
    normalized_host,
    store_secret,
)
from refresher.credentials.secrets import CredentialsDisabled, Secret, credentials_enabled
from refresher.exceptions import AlreadyExists

ID_MAX = 2**63 - 1
OPTIONAL_FIELDS = ("host", "username", "app_id", "installation_id")


def _id_field(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_MAX, help_text=help_text
    )


class CredentialSerializer(StrictModelSerializer):
    """A credential as the API shows it, and as its owner writes it."""

    kind = serializers.ChoiceField(
        choices=CredentialKind.choices,
        help_text="`github_token`, `github_app` or `git_basic`; it cannot change later.",
    )
    name = StrictCharField(
        max_length=200,
        validators=[validate_name_characters],
        help_text="Unique among your credentials; no control or invisible characters.",
    )
    host = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="git_basic: the https git host (and port) it is sent to, as git sources name "
        "it. GitHub kinds: the GitHub host this site reads, set by the site.",
    )
    username = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=MAX_USERNAME_CHARS,
        help_text="git_basic: the username sent with the password or token.",
    )
    app_id = _id_field("github_app: the App's id (its settings page shows it).")
    installation_id = _id_field(
        "github_app: the installation to read with. Left out, the installation on each "
        "repository's owner is found by asking GitHub."
    )
    secret = StrictCharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=MAX_TOKEN_CHARS,
        help_text="github_token: the token; git_basic: the password or token. Write-only; "
        "left out of an edit, the stored one stays.",
    )
    private_key = StrictCharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=MAX_PEM_CHARS,
        help_text="github_app: the App's private key, the PEM file GitHub gives. Write-only.",
    )

    class Meta:
        model = Credential
        fields = [
            "id",
            "name",
            "kind",
            "host",
            "username",
            "app_id",
            "installation_id",
            "secret",
            "private_key",
            "fingerprint",
            "created_at",
            "updated_at",
            "last_used_at",
        ]
        read_only_fields = ["id", "fingerprint", "created_at", "updated_at", "last_used_at"]
        extra_kwargs = {
            "fingerprint": {
                "help_text": "Tells secrets apart without showing them: the last four "
                "characters of a token or password, or a GitHub App key's SHA256 fingerprint."
            },
            "last_used_at": {"help_text": "When a refresh or a test last used it."},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: Credential | None = self.instance
        kind = attrs.get("kind", instance.kind if instance else "")
        if instance is not None and kind != instance.kind:
            raise serializers.ValidationError(
                {"kind": ["A credential's kind cannot change; store a new credential."]}
            )
        secret_field = "private_key" if kind == CredentialKind.GITHUB_APP else "secret"
        raw = attrs.pop("secret", None), attrs.pop("private_key", None)
        given = raw[1] if kind == CredentialKind.GITHUB_APP else raw[0]
        misplaced = raw[0] if kind == CredentialKind.GITHUB_APP else raw[1]
        errors: dict[str, list[str]] = {}
        if misplaced:
            other = "secret" if secret_field == "private_key" else "private_key"
            errors[other] = [f"Not used by a {kind} credential; its secret is `{secret_field}`."]
        try:
            self._check_fields(kind, attrs, errors)
            if given is None and instance is None:
                errors.setdefault(secret_field, []).append("This field is required.")
            if given is not None:
                if not credentials_enabled():
                    raise CredentialsDisabled()
                attrs["secret"] = Secret(given)
                check_secret(kind, attrs["secret"])
        except InvalidCredential as exc:
            errors.setdefault(exc.field, []).append(exc.message)
        if errors:
            raise serializers.ValidationError(errors)
        self._check_moves(instance, attrs)
        self._check_name(attrs)
        return attrs

    def _check_fields(self, kind: str, attrs: dict[str, Any], errors: dict[str, list[str]]) -> None:
        """Fields the kind does not use must be empty; the ones it needs must be there."""
        used, needed = FIELDS[kind], REQUIRED[kind]
        for field in OPTIONAL_FIELDS:
            value = attrs.get(field)
            if field in used or value in (None, ""):
                continue
            if field == "host" and normalized_host(str(value)) == github_host():
                attrs.pop(field)  # the host GET answered, sent back unchanged
                continue
            errors[field] = [f"Not used by a {kind} credential."]
            attrs.pop(field)
        for field in needed:
            current = getattr(self.instance, field, None) if self.instance else None
            if attrs.get(field) in (None, "") and (field in attrs or not current):
                errors.setdefault(field, []).append(f"A {kind} credential needs it.")
        if kind == CredentialKind.GIT_BASIC:
            if attrs.get("host"):
                attrs["host"] = normalized_host(attrs["host"])
                check_git_host(attrs["host"])
            if attrs.get("username"):
                attrs["username"] = check_username(attrs["username"])
        else:
            attrs["host"] = github_host()

    def _check_moves(self, instance: Credential | None, attrs: dict[str, Any]) -> None:
        """A stored secret is only ever sent where it was stored for: another host needs it
        again."""
        if instance is None or "secret" in attrs:
            return
        if instance.kind == CredentialKind.GIT_BASIC and attrs.get("host", instance.host) != (
            instance.host
        ):
            raise serializers.ValidationError(
                {"secret": ["Give the secret again to use the credential with another host."]}
            )

    def _check_name(self, attrs: dict[str, Any]) -> None:
        name = attrs.get("name")
        if name is None:
            return
        owner = self.instance.owner if self.instance else self.context["request"].user
        clash = Credential.objects.filter(owner=owner, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise _name_taken()

    def create(self, validated_data: dict[str, Any]) -> Credential:
        secret: Secret = validated_data.pop("secret")
        credential = Credential(**validated_data)
        store_secret(credential, secret)
        credential.save()
        return credential

    def update(self, instance: Credential, validated_data: dict[str, Any]) -> Credential:
        secret: Secret | None = validated_data.pop("secret", None)
        reset = secret is not None or any(
            field in validated_data and validated_data[field] != getattr(instance, field)
            for field in ("app_id", "installation_id")
        )
        for field, value in validated_data.items():
            setattr(instance, field, value)
        if secret is not None:
            store_secret(instance, secret)
        instance.save()
        if reset:
            # Installations found and tokens minted for the old key or app are not this one's.
            instance.installations.all().delete()
        return instance

    def save(self, **kwargs: Any) -> Credential:
        try:
            with transaction.atomic():
                return super().save(**kwargs)
        except IntegrityError:
            raise _name_taken() from None


def _name_taken() -> AlreadyExists:
    message = "You already have a credential with this name."
    return AlreadyExists(message, details={"name": [message]})


class CredentialTestRequestSerializer(serializers.Serializer):
    """What `test` may be given: a repository to try the credential on."""

    # Named like discovery's `source`, which shadows Field.source in the type stubs only.
    source = StrictCharField(  # type: ignore[assignment]
        required=False,
        max_length=500,
        help_text="A source naming a repository (`owner/repo`, a GitHub URL, or a git+https "
        "source of the credential's host) to check that the credential can read it. Required "
        "for git_basic, whose host alone cannot be tried.",
    )


class CredentialTestResponseSerializer(serializers.Serializer):
    """What trying a credential upstream found."""

    ok = serializers.BooleanField(help_text="Whether upstream accepted the credential.")
    login = serializers.CharField(
        allow_null=True, help_text="The account a token or login reads as; null for an App."
    )
    app = serializers.CharField(
        allow_null=True, help_text="A GitHub App's slug; null for the other kinds."
    )
    detail = serializers.CharField(help_text="What was tried and what upstream answered.")


@extend_schema_field(
    {"type": "array", "items": {"type": "string", "format": "uuid"}, "maxItems": 20}
)
class CredentialIdsField(serializers.ListField):
    """A collection's credentials as a list of ids (kept in the order given)."""

    child = serializers.UUIDField()

    def get_attribute(self, instance: Any) -> list[Any]:
        # Through the links (prefetched by the views), in the owner's order.
        links = sorted(instance.credential_links.all(), key=lambda link: link.position)
        return [link.credential_id for link in links]
