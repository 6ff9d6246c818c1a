"""Serializers of credentials (SPEC 16): write-only secrets, kind-specific fields, the test answer.

A secret goes in (`secret`, or `private_key` for a GitHub App) and never comes out: answers carry
its `fingerprint`. The secret is wrapped in a `Secret` as soon as it is read, so nothing that
prints the validated data can show it.
"""

import uuid
from collections.abc import Mapping, Sequence

from django.core.validators import RegexValidator
from django.db import IntegrityError, transaction
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from collections_app.fields import SPACE_CLASS, NameField, StrictCharField, StrictModelSerializer
from collections_app.models import Collection, Credential, CredentialKind
from collections_app.refresh_serializers import StrictKeysSerializer
from refresher.credentials.kinds import (
    FIELDS,
    MAX_PEM_CHARS,
    MAX_TOKEN_CHARS,
    MAX_USERNAME_CHARS,
    REQUIRED,
    check_git_host,
    check_secret,
    check_username,
    github_host,
    normalized_host,
    store_secret,
)
from refresher.credentials.quota import credential_quota
from refresher.exceptions import AlreadyExists, CredentialsDisabled, InvalidCredential
from refresher.secrets import Secret, credentials_enabled

ID_MAX = 2**63 - 1
OPTIONAL_FIELDS = ("host", "username", "app_id", "installation_id")
# What a secret may hold: anything but control characters (it goes into a header). A username
# has no ':' either (Basic authentication's separator).
PASSWORD_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"
_U = r":\x00-\x1f\x7f-\x9f"
USERNAME_PATTERN = f"^[^{_U}{SPACE_CLASS}](?:[^{_U}]*[^{_U}{SPACE_CLASS}])?$"
SECRET_MESSAGE = "The secret must not contain control characters."
USERNAME_MESSAGE = "A username has no ':', no control characters and no spaces at either end."
HOST_MESSAGE = "A host name, with ':port' when it is not 443 (no scheme, path or login)."
HOST_PATTERN = (
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"(?::[0-9]{1,5})?$"
)


def _id_field(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_MAX, help_text=help_text
    )


class CredentialSerializer(StrictModelSerializer[Credential]):
    """A credential as the API shows it, and an edit of one.

    An edit takes the fields of the credential's kind. The kind cannot change, and fields of
    other kinds are ignored as read-only ones are, so an edit may send back what a read answered.
    """

    kind = serializers.ChoiceField(
        choices=CredentialKind.choices,
        read_only=True,
        help_text="`github_token`, `github_app` or `git_basic`; it cannot change.",
    )
    name = NameField(help_text="Unique among your credentials.")
    host = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=300,
        validators=[RegexValidator(HOST_PATTERN, HOST_MESSAGE)],
        help_text="git_basic: the https git host (and port, unless 443) it is sent to, as git "
        "sources name it; one of GIT_ALLOWED_HOSTS. GitHub kinds: the GitHub host this site "
        "reads, set by the site.",
    )
    username = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_USERNAME_CHARS,
        validators=[RegexValidator(USERNAME_PATTERN, USERNAME_MESSAGE)],
        help_text="git_basic: the username sent with the password or token.",
    )
    app_id = _id_field("github_app: the App's id (its settings page shows it).")
    installation_id = _id_field(
        "github_app: the installation to read with. Empty, the installation on each "
        "repository's owner is found by asking GitHub."
    )
    secret = StrictCharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=MAX_TOKEN_CHARS,
        validators=[RegexValidator(PASSWORD_PATTERN, SECRET_MESSAGE)],
        help_text="github_token: the token; git_basic: the password or token. Write-only; "
        "left out of an edit, the stored one stays.",
    )
    private_key = StrictCharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=MAX_PEM_CHARS,
        help_text="github_app: the App's private key, the unencrypted RSA PEM file GitHub "
        "gives. Write-only; left out of an edit, the stored one stays.",
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

    def kind_of(self, attrs: dict[str, object]) -> str:
        """The stored kind; what an edit cannot change is dropped from `attrs`."""
        assert self.instance is not None
        kind: str = self.instance.kind
        for field in {*OPTIONAL_FIELDS, "secret", "private_key"} - self.used_by(kind):
            attrs.pop(field, None)  # another kind's field: ignored, like a read-only one
        for field in REQUIRED[kind]:
            if attrs.get(field, 0) in (None, ""):
                attrs.pop(field)  # left empty: the stored value stays, as a secret does
        return kind

    @staticmethod
    def used_by(kind: str) -> set[str]:
        return {secret_field_of(kind), *FIELDS[kind]}

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        instance = self.instance
        kind = self.kind_of(attrs)
        secret_field = secret_field_of(kind)
        given = attrs.pop(secret_field, None)
        assert given is None or isinstance(given, str)  # a StrictCharField's value
        errors: dict[str, list[str]] = {}
        try:
            self._check_fields(kind, attrs, errors)
            if given is None and instance is None:
                errors.setdefault(secret_field, []).append("This field is required.")
            if given is not None:
                if not credentials_enabled():
                    raise CredentialsDisabled()
                secret = attrs["secret"] = Secret(given)
                check_secret(kind, secret)
        except InvalidCredential as exc:
            errors.setdefault(exc.field, []).append(exc.message)
        if errors:
            raise serializers.ValidationError(errors)
        self._check_moves(instance, attrs)
        self._check_name(attrs)
        return attrs

    def _check_fields(
        self, kind: str, attrs: dict[str, object], errors: dict[str, list[str]]
    ) -> None:
        """The fields the kind needs must be there, and hold what it can use."""
        for field in REQUIRED[kind]:
            current = getattr(self.instance, field, None) if self.instance else None
            if attrs.get(field) in (None, "") and (field in attrs or not current):
                errors.setdefault(field, []).append(f"A {kind} credential needs it.")
        if kind == CredentialKind.GIT_BASIC:
            host, username = attrs.get("host"), attrs.get("username")
            if host and isinstance(host, str):
                attrs["host"] = host = normalized_host(host)
                check_git_host(host)
            if username and isinstance(username, str):
                attrs["username"] = check_username(username)
        else:
            attrs["host"] = github_host()

    def _check_moves(self, instance: Credential | None, attrs: dict[str, object]) -> None:
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

    def _check_name(self, attrs: dict[str, object]) -> None:
        name = attrs.get("name")
        if name is None:
            return
        owner = self.instance.owner if self.instance else self.context["request"].user
        clash = Credential.objects.filter(owner=owner, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise _name_taken()

    def create(self, validated_data: dict[str, object]) -> Credential:
        secret = validated_data.pop("secret")
        assert isinstance(secret, Secret)  # validate() made it one
        credential = Credential(**validated_data)
        store_secret(credential, secret)
        credential.save()
        return credential

    def update(self, instance: Credential, validated_data: dict[str, object]) -> Credential:
        secret = validated_data.pop("secret", None)
        assert secret is None or isinstance(secret, Secret)  # validate() made it one
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

    def save(self, **kwargs: object) -> Credential:
        try:
            with transaction.atomic():
                return super().save(**kwargs)
        except IntegrityError:
            raise _name_taken() from None


class NewCredentialSerializer(CredentialSerializer):
    """A new credential: its kind, and exactly the fields of that kind (see NEW_CREDENTIAL)."""

    kind = serializers.ChoiceField(choices=CredentialKind.choices)

    def to_internal_value(self, data: object) -> dict[str, object]:
        # A field of another kind is a mistake worth a 400 here, not something to ignore: the
        # document gives each kind its own body. (The browsable API's form posts every field.)
        if isinstance(data, dict) and not html.is_html_input(data):
            self._refuse_other_kinds_fields(data)
        return super().to_internal_value(data)

    def _refuse_other_kinds_fields(self, data: Mapping[str, object]) -> None:
        kind = data.get("kind")
        if not isinstance(kind, str) or kind not in FIELDS:
            return  # the kind field itself answers for it
        allowed = {"name", "kind", *self.used_by(kind)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            valid = ", ".join(sorted(allowed))
            raise serializers.ValidationError(
                {key: [f"Not a field of a {kind} credential ({valid})."] for key in unknown}
            )

    def kind_of(self, attrs: dict[str, object]) -> str:
        kind = str(attrs["kind"])  # a choice of CredentialKind
        for field in {*OPTIONAL_FIELDS, "secret", "private_key"} - self.used_by(kind):
            attrs.pop(field, None)  # the browsable API's form: empty fields of other kinds
        return kind


class QuotaResourceSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    remaining = serializers.IntegerField()
    reset_at = serializers.CharField(help_text="UTC, ISO 8601.")


class QuotaAccountSerializer(serializers.Serializer):
    """One account a credential reads GitHub as, and what is left of its quota."""

    account = serializers.CharField(help_text="`token`, or `installation <id> (<owner>)`.")
    resources = serializers.DictField(child=QuotaResourceSerializer())
    paused_until = serializers.CharField(allow_null=True)


class CredentialDetailSerializer(CredentialSerializer):
    """A credential with what is left of its quotas, as every process shares them."""

    quota = serializers.SerializerMethodField(
        help_text="Per account the credential reads GitHub as (its token; each installation of "
        "its App): the last known remaining requests per resource and any pause. Empty until a "
        "run has used it, and for git logins."
    )

    class Meta(CredentialSerializer.Meta):
        fields = [*CredentialSerializer.Meta.fields, "quota"]

    @extend_schema_field(QuotaAccountSerializer(many=True))
    def get_quota(self, credential: Credential) -> Sequence[Mapping[str, object]]:
        return credential_quota(credential)


def secret_field_of(kind: str) -> str:
    """Where a kind's secret is written: an App's private key, every other kind's `secret`."""
    return "private_key" if kind == CredentialKind.GITHUB_APP else "secret"


def _name_taken() -> AlreadyExists:
    message = "You already have a credential with this name."
    return AlreadyExists(message, details={"name": [message]})


class CredentialTestRequestSerializer(StrictKeysSerializer):
    """What `test` may be given: a repository to try the credential on."""

    # Named like discovery's `source`, which shadows Field.source in the type stubs only.
    source = StrictCharField(  # type: ignore[assignment]
        required=False,
        max_length=500,
        help_text="A source naming a repository (`owner/repo`, a GitHub URL, or a git+https "
        "source of the credential's host) to check that the credential can read it. A git "
        "login is tried on one of your git sources of its host when none is given.",
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

    def get_attribute(self, instance: Collection) -> list[uuid.UUID]:
        # Through the links (prefetched by the views), in the owner's order.
        links = sorted(instance.credential_links.all(), key=lambda link: link.position)
        return [link.credential_id for link in links]


# -- the document's view of a new credential: one body per kind (the server checks the same) --


class _NewCredential(serializers.Serializer):
    # Makes the request schema say `additionalProperties: false` (skillmeat_site.schema).
    rejects_unknown_keys = True
    name = NameField(help_text="Unique among your credentials.")


def _secret(pattern: str, max_length: int, help_text: str) -> StrictCharField:
    return StrictCharField(
        write_only=True,
        trim_whitespace=False,
        max_length=max_length,
        validators=[RegexValidator(pattern, SECRET_MESSAGE)],
        help_text=help_text,
    )


class NewGitHubToken(_NewCredential):
    """A GitHub token (classic or fine-grained) for the GitHub host this site reads."""

    kind = serializers.ChoiceField(choices=[CredentialKind.GITHUB_TOKEN.value])
    secret = _secret(PASSWORD_PATTERN, MAX_TOKEN_CHARS, "The token. Write-only.")


class NewGitHubApp(_NewCredential):
    """A GitHub App: its id and private key; installation tokens are minted from them."""

    kind = serializers.ChoiceField(choices=[CredentialKind.GITHUB_APP.value])
    app_id = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text="The App's id.")
    installation_id = _id_field(
        "The installation to read with; left out, the one on each repository's owner is found."
    )
    private_key = StrictCharField(
        write_only=True,
        trim_whitespace=False,
        max_length=MAX_PEM_CHARS,
        help_text="The App's private key: the unencrypted RSA PEM file GitHub gives. Write-only.",
    )


class NewGitLogin(_NewCredential):
    """A username and password (or token) for one https git host."""

    kind = serializers.ChoiceField(choices=[CredentialKind.GIT_BASIC.value])
    host = StrictCharField(
        trim_whitespace=False,
        max_length=300,
        validators=[RegexValidator(HOST_PATTERN, HOST_MESSAGE)],
        help_text="The host, with its port unless 443, as git sources name it; one of "
        "GIT_ALLOWED_HOSTS.",
    )
    username = StrictCharField(
        trim_whitespace=False,
        max_length=MAX_USERNAME_CHARS,
        validators=[RegexValidator(USERNAME_PATTERN, USERNAME_MESSAGE)],
        help_text="The username.",
    )
    secret = _secret(PASSWORD_PATTERN, MAX_TOKEN_CHARS, "The password or token. Write-only.")


NEW_CREDENTIAL = PolymorphicProxySerializer(
    component_name="NewCredential",
    serializers={
        CredentialKind.GITHUB_TOKEN.value: NewGitHubToken,
        CredentialKind.GITHUB_APP.value: NewGitHubApp,
        CredentialKind.GIT_BASIC.value: NewGitLogin,
    },
    resource_type_field_name="kind",
)
