from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from collections_app.models import Artifact, Collection
from collections_app.querysets import with_artifact_count


class ArtifactInline(admin.TabularInline):
    model = Artifact
    extra = 0
    fields = ["type", "name", "source", "title", "license", "resolved_sha", "last_refreshed_at"]
    readonly_fields = ["resolved_sha", "last_refreshed_at"]
    show_change_link = True


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "artifact_total", "updated_at"]
    list_filter = ["owner", "created_at"]
    search_fields = ["name", "description", "owner__username"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [ArtifactInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Collection]:
        return with_artifact_count(super().get_queryset(request)).select_related("owner")

    @admin.display(description="Artifacts", ordering="artifact_count")
    def artifact_total(self, obj: Collection) -> int:
        return obj.artifact_count  # type: ignore[attr-defined]


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "type",
        "collection",
        "source",
        "license",
        "short_sha",
        "last_refreshed_at",
    ]
    list_filter = ["type", "source_kind", "license", "collection"]
    search_fields = ["name", "title", "description", "source", "upstream_repo"]
    list_select_related = ["collection"]
    readonly_fields = [
        "id",
        "source_kind",
        "upstream_owner",
        "upstream_repo",
        "upstream_path",
        "upstream_ref",
        "last_refreshed_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["id", "collection", "type", "name", "source"]}),
        (
            "Upstream",
            {
                "fields": [
                    "source_kind",
                    "upstream_owner",
                    "upstream_repo",
                    "upstream_path",
                    "upstream_ref",
                    "resolved_sha",
                    "content_sha",
                    "last_refreshed_at",
                ]
            },
        ),
        ("Metadata", {"fields": ["title", "description", "author", "license", "topics"]}),
        ("Yours", {"fields": ["tags", "locked_fields"]}),
        ("Content", {"classes": ["collapse"], "fields": ["content"]}),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="Commit", ordering="resolved_sha")
    def short_sha(self, obj: Artifact) -> str:
        return obj.resolved_sha[:7]
