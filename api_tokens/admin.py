"""The admin of API tokens: staff can see who has one and revoke it, never read a key.

DRF's own TokenAdmin lists every key in clear, so anyone with the view permission could act as
any user. Keys are made with `manage.py drf_create_token <user>`, which shows the key once to
whoever runs it on the server.
"""

from django.contrib import admin
from django.http import HttpRequest
from rest_framework.authtoken.admin import TokenAdmin as DRFTokenAdmin
from rest_framework.authtoken.models import Token, TokenProxy

from api_tokens.models import ApiToken

admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class TokenAdmin(DRFTokenAdmin):
    list_display = ("user", "created")
    fields = readonly_fields = ("user", "created")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A key made here would have to be shown here; `drf_create_token` makes them.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Token | None = None) -> bool:
        return False
