from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from collections_app.credential_views import CredentialViewSet
from collections_app.marketplace.views import SharedMarketplaceView
from collections_app.refresh_views import RefreshRunViewSet
from collections_app.views import ArtifactViewSet, CollectionViewSet
from collections_app.webhook_views import GitHubWebhookView
from skillmeat_site.health import healthz


class OptionalSlashRouter(DefaultRouter):
    """Every API path answers with and without its trailing slash, without a redirect."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("collections", CollectionViewSet, basename="collection")
router.register("artifacts", ArtifactViewSet, basename="artifact")
router.register("refresh-runs", RefreshRunViewSet, basename="refresh-run")
router.register("credentials", CredentialViewSet, basename="credential")

urlpatterns = [
    path("", include("skillmeat_site.home")),
    re_path(r"^healthz/?$", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # A share link: Claude Code reads a collection's marketplace by it, with no login (SPEC 15).
    re_path(
        r"^m/(?P<token>[^/]{1,200})/marketplace\.json$",
        SharedMarketplaceView.as_view(),
        name="marketplace-shared",
    ),
    re_path(r"^api/v1/webhooks/github/?$", GitHubWebhookView.as_view(), name="webhook-github"),
    re_path(r"^api/v1/", include(router.urls)),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(r"^api/redoc/?$", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api-auth/", include("rest_framework.urls")),
]

handler404 = "skillmeat_site.errors.json_404"
handler500 = "skillmeat_site.errors.json_500"
