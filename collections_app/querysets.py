"""Who may see what: one place that scopes collections, artifacts and runs to their owner.

Another user's objects are simply not in the queryset, so they answer 404, never 403: their
existence is not disclosed. Staff see everything.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from collections_app.models import Artifact, Collection
from refresher.models import RefreshEntry, RefreshRun

User = AbstractBaseUser | AnonymousUser


def visible_collections(user: User) -> QuerySet[Collection]:
    qs = Collection.objects.select_related("owner")
    if not getattr(user, "is_staff", False):
        qs = qs.filter(owner=user.pk)
    return qs


def with_artifact_count(qs: QuerySet[Collection]) -> QuerySet[Collection]:
    # Grouping drops Meta.ordering, so the order is restated for stable pages.
    return qs.annotate(artifact_count=Count("artifacts")).order_by("name", "id")


def visible_artifacts(user: User) -> QuerySet[Artifact]:
    qs = Artifact.objects.all()
    if not getattr(user, "is_staff", False):
        qs = qs.filter(collection__owner=user.pk)
    return with_update_available(qs)


def with_update_available(qs: QuerySet[Artifact]) -> QuerySet[Artifact]:
    """Annotate `update_available` from the artifact's latest upstream reading.

    The latest entry that saw the artifact's upstream content SHA tells whether upstream differs
    from what is stored now; comparing with the current `content_sha` keeps the answer right after
    a sync, without check runs having to write to the artifact.
    """
    latest = (
        RefreshEntry.objects.filter(artifact=OuterRef("pk"))
        .exclude(upstream_content_sha="")
        .order_by("-id")
        .values("upstream_content_sha")[:1]
    )
    return qs.annotate(latest_upstream_content_sha=Subquery(latest)).annotate(
        update_available=Case(
            When(Q(latest_upstream_content_sha__isnull=True) | Q(content_sha=""), then=Value(None)),
            When(latest_upstream_content_sha=F("content_sha"), then=Value(False)),
            default=Value(True),
            output_field=BooleanField(null=True),
        )
    )


def visible_runs(user: User) -> QuerySet[RefreshRun]:
    qs = RefreshRun.objects.select_related("collection")
    if not getattr(user, "is_staff", False):
        qs = qs.filter(collection__owner=user.pk)
    return qs
