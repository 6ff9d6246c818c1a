"""The collection admin's marketplace box (SPEC 15): what Claude Code is offered, and share links.

A mixin of CollectionAdmin. The box on the collection's page counts plugins and omitted
artifacts (per reason, each a link to the page listing them) and lists the latest share links;
its buttons post to the pages here. Making a link answers a page that shows its URL once (the
token is kept nowhere, so it is never put in a message or a session); revoking one needs the
change permission too, and both are POSTs checked for CSRF by the admin.
"""

import uuid
from dataclasses import dataclass

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from collections_app.fields import NAME_MAX_LENGTH
from collections_app.marketplace.links import absolute_url, create_link, manifest_path
from collections_app.marketplace.manifest import OMISSION_REASONS, Omitted
from collections_app.marketplace.names import marketplace_name
from collections_app.marketplace.rows import collection_row, marketplace_of, reason_counts
from collections_app.models import Collection, ShareLink
from collections_app.validators import validate_name_characters

# Share links the box lists (newest first); a collection rarely has more.
BOX_LINKS = 20
# Omitted artifacts one page lists; the count above it says how many there are in all.
OMITTED_PAGE = 500
LABEL_FIELD = "share_link_label"
REASON_TEXT = {
    "no_upstream": "no upstream source",
    "unsupported_source": "a source the site does not read",
    "invalid_source": "a source that no longer parses",
    "not_synced": "never synced (or moved to another source since)",
    "no_configuration": "a hook or MCP file holding no configuration",
    "modified_locally": "a hook or MCP file edited since it was synced",
}


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: str
    text: str
    count: int
    url: str


@dataclass(frozen=True, slots=True)
class MarketplaceBox:
    """What the collection page shows of its marketplace, whatever the collection's size."""

    name: str
    plugins: int
    omitted: list[ReasonCount]
    links: list[ShareLink]
    link_count: int
    create_url: str


def _omitted_url(collection: Collection, reason: str = "") -> str:
    url = reverse("admin:collections_app_collection_marketplace_omitted", args=[collection.pk])
    return f"{url}?{urlencode({'reason': reason})}" if reason else url


def marketplace_box(collection: Collection) -> MarketplaceBox:
    counts = reason_counts(collection)
    row = collection_row(collection)
    links = ShareLink.objects.filter(collection=collection)
    return MarketplaceBox(
        name=marketplace_name(row["name"], row["owner"]),
        plugins=counts[""],
        omitted=[
            ReasonCount(r, REASON_TEXT[r], counts[r], _omitted_url(collection, r))
            for r in OMISSION_REASONS
            if counts[r]
        ],
        links=list(links.order_by("-created_at", "-id")[:BOX_LINKS]),
        link_count=links.count(),
        create_url=reverse(
            "admin:collections_app_collection_share_link_create", args=[collection.pk]
        ),
    )


class MarketplaceAdminMixin:
    """Adds the omitted-artifacts page and the share-link posts to CollectionAdmin."""

    admin_site: admin.AdminSite

    def marketplace_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<uuid:object_id>/marketplace/omitted/",
                view(self.omitted_view),
                name="collections_app_collection_marketplace_omitted",
            ),
            path(
                "<uuid:object_id>/marketplace/share-links/",
                view(require_POST(self.create_link_view)),
                name="collections_app_collection_share_link_create",
            ),
            path(
                "<uuid:object_id>/marketplace/share-links/<uuid:link_id>/revoke/",
                view(require_POST(self.revoke_link_view)),
                name="collections_app_collection_share_link_revoke",
            ),
        ]

    def _collection(self, request: HttpRequest, object_id: str, *, change: bool) -> Collection:
        model_admin: admin.ModelAdmin[Collection] = self  # type: ignore[assignment]
        collection = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
        allowed = (
            model_admin.has_change_permission(request, collection)
            if change
            else model_admin.has_view_permission(request, collection)
        )
        if not allowed:
            raise PermissionDenied
        return collection

    def omitted_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The artifacts the manifest leaves out, with why; `?reason=` narrows the list."""
        collection = self._collection(request, object_id, change=False)
        reason = request.GET.get("reason", "")
        omitted: list[Omitted] = [
            o for o in marketplace_of(collection).omitted if not reason or o["reason"] == reason
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Left out of the marketplace of “{collection}”",
            "subtitle": None,
            "opts": Collection._meta,
            "original": collection,
            "reason": REASON_TEXT.get(reason, ""),
            "total": len(omitted),
            "rows": [
                {
                    **o,
                    "why": REASON_TEXT[o["reason"]],
                    "url": reverse(
                        "admin:collections_app_artifact_change", args=[o["artifact_id"]]
                    ),
                }
                for o in omitted[:OMITTED_PAGE]
            ],
            "change_url": reverse("admin:collections_app_collection_change", args=[collection.pk]),
        }
        template = "admin/collections_app/collection/marketplace_omitted.html"
        return TemplateResponse(request, template, context)

    def create_link_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Make a share link and show its URL once, on a page nothing keeps."""
        collection = self._collection(request, object_id, change=True)
        change_url = reverse("admin:collections_app_collection_change", args=[collection.pk])
        label = request.POST.get(LABEL_FIELD, "").strip()[:NAME_MAX_LENGTH]
        try:
            validate_name_characters(label)
        except ValidationError:
            messages.error(
                request, "A share link's label cannot hold control or invisible characters."
            )
            return HttpResponseRedirect(change_url)
        made = create_link(collection, label=label, user=request.user)
        url = absolute_url(request, manifest_path(made.token))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Share link of “{collection}”",
            "subtitle": None,
            "opts": Collection._meta,
            "original": collection,
            "link": made.link,
            "url": url,
            "command": f"claude plugin marketplace add {url}",
            "change_url": change_url,
        }
        # The admin marks every answer `no-store`: the page is kept by no cache either.
        template = "admin/collections_app/collection/share_link_created.html"
        return TemplateResponse(request, template, context)

    def revoke_link_view(
        self, request: HttpRequest, object_id: str, link_id: uuid.UUID
    ) -> HttpResponse:
        collection = self._collection(request, object_id, change=True)
        deleted, _ = ShareLink.objects.filter(collection=collection, pk=link_id).delete()
        if deleted:
            messages.success(
                request, "The share link was revoked: its URL answers 404 from now on."
            )
        else:
            messages.warning(request, "That share link was already revoked.")
        return HttpResponseRedirect(
            reverse("admin:collections_app_collection_change", args=[collection.pk])
        )
