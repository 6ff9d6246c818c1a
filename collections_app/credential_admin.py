"""Admin for credentials: staff see and manage every user's, and never read a secret.

A secret can be replaced, never shown: the form's secret fields start empty on every page (also
when the page comes back with an error), the stored Fernet token is not a field at all, and the
list shows the fingerprint.
"""

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.forms.renderers import BaseRenderer
from django.http import HttpRequest
from django.utils.safestring import SafeString

from collections_app.models import Collection, CollectionCredential, Credential, CredentialKind
from refresher.credentials.kinds import (
    FIELDS,
    REQUIRED,
    check_git_host,
    check_secret,
    check_username,
    github_host,
    normalized_host,
    store_secret,
)
from refresher.exceptions import CredentialsDisabled, InvalidCredential
from refresher.secrets import Secret, credentials_enabled


class SecretTextarea(forms.Textarea):
    """A textarea that never sends its value back to the browser (a PEM is several lines)."""

    def render(
        self,
        name: str,
        value: object,
        attrs: dict[str, object] | None = None,
        renderer: BaseRenderer | None = None,
    ) -> SafeString:
        return super().render(name, None, attrs, renderer)


class CredentialForm(forms.ModelForm):
    """The rules of the API's serializer, for staff: per-kind fields, secrets write-only."""

    new_secret = forms.CharField(
        required=False,
        strip=False,
        label="Secret",
        widget=forms.PasswordInput(render_value=False),
        help_text="github_token: the token; git_basic: the password or token. Blank keeps the "
        "stored one.",
    )
    new_private_key = forms.CharField(
        required=False,
        strip=False,
        label="Private key",
        widget=SecretTextarea(attrs={"rows": 6, "autocomplete": "off"}),
        help_text="github_app: the App's PEM private key. Blank keeps the stored one.",
    )

    class Meta:
        model = Credential
        fields = ["owner", "name", "kind", "host", "username", "app_id", "installation_id"]

    def clean(self) -> dict[str, object]:
        cleaned: dict[str, object] = super().clean() or {}
        # A new credential's id exists before it is saved (a UUID default): ask the state.
        stored = not self.instance._state.adding
        kind = self.instance.kind if stored else str(cleaned.get("kind", ""))
        if kind not in FIELDS:
            return cleaned
        secret_field = "new_private_key" if kind == CredentialKind.GITHUB_APP else "new_secret"
        other = "new_secret" if secret_field == "new_private_key" else "new_private_key"
        if cleaned.get(other):
            self.add_error(other, f"Not used by a {kind} credential.")
        try:
            self._clean_fields_of(kind, cleaned)
            given = str(cleaned.get(secret_field) or "")  # a CharField's text
            if not given and not stored:
                self.add_error(secret_field, "A new credential needs its secret.")
            if given:
                if not credentials_enabled():
                    raise forms.ValidationError(CredentialsDisabled().message)
                secret = cleaned["secret"] = Secret(given)
                check_secret(kind, secret)
            elif self._moves_host(kind, cleaned):
                self.add_error(secret_field, "Give the secret again to change the host.")
        except InvalidCredential as exc:
            self.add_error(
                secret_field if exc.field in ("secret", "private_key") else exc.field, exc.message
            )
        return cleaned

    def _moves_host(self, kind: str, cleaned: dict[str, object]) -> bool:
        """A stored secret is sent only where it was stored for."""
        moved = cleaned.get("host") != self.instance.host
        stored = not self.instance._state.adding
        return stored and kind == CredentialKind.GIT_BASIC and moved

    def _clean_fields_of(self, kind: str, cleaned: dict[str, object]) -> None:
        for field in ("host", "username", "app_id", "installation_id"):
            value = cleaned.get(field)
            if field not in FIELDS[kind] and value not in (None, ""):
                if field == "host" and normalized_host(str(value)) == github_host():
                    continue
                self.add_error(field, f"Not used by a {kind} credential.")
        for field in REQUIRED[kind]:
            if cleaned.get(field) in (None, ""):
                self.add_error(field, f"A {kind} credential needs it.")
        if kind == CredentialKind.GIT_BASIC:
            host, username = cleaned.get("host"), cleaned.get("username")
            if host:
                cleaned["host"] = host = normalized_host(str(host))
                check_git_host(host)
            if username:
                cleaned["username"] = check_username(str(username))
        else:
            cleaned["host"] = github_host()

    def save(self, commit: bool = True) -> Credential:
        credential: Credential = super().save(commit=False)
        credential.host = self.cleaned_data.get("host", credential.host)
        secret: Secret | None = self.cleaned_data.get("secret")
        if secret is not None:
            store_secret(credential, secret)
        if commit:
            credential.save()
            if secret is not None:
                credential.installations.all().delete()
        return credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialForm
    list_display = ["name", "owner", "kind", "host", "fingerprint", "last_used_at", "created_at"]
    list_filter = ["kind", "owner"]
    search_fields = ["name", "owner__username", "host", "username"]
    readonly_fields = ["id", "fingerprint", "created_at", "updated_at", "last_used_at"]
    fieldsets = [
        (None, {"fields": ["id", "owner", "name", "kind"]}),
        ("Where and as whom", {"fields": ["host", "username", "app_id", "installation_id"]}),
        (
            "Secret",
            {
                "description": "Stored encrypted and never shown. Fill in a field to replace "
                "the secret; leave both blank to keep it.",
                "fields": ["fingerprint", "new_secret", "new_private_key"],
            },
        ),
        ("History", {"fields": ["created_at", "updated_at", "last_used_at"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Credential | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        # A stored credential keeps its kind and owner: another kind is another credential.
        return [*fields, "kind", "owner"] if obj is not None else fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Credential]:
        return super().get_queryset(request).select_related("owner")


class CollectionCredentialInline(admin.TabularInline):
    """A collection's credentials, in order; only its owner's can be chosen."""

    model = CollectionCredential
    extra = 0
    fields = ["position", "credential"]
    ordering = ["position"]
    verbose_name = "credential"
    verbose_name_plural = "credentials (read private sources with, in this order)"

    def get_formset(
        self, request: HttpRequest, obj: Collection | None = None, **kwargs: object
    ) -> type[BaseInlineFormSet]:
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields["credential"]
        owned = Credential.objects.filter(owner=obj.owner_id) if obj else Credential.objects.none()
        field.queryset = owned  # type: ignore[attr-defined]
        return formset
