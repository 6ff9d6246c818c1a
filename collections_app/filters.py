import django_filters

from collections_app.models import Artifact, ArtifactType
from refresher.models import Mode, RefreshRun, RunStatus, Trigger


class ArtifactFilter(django_filters.FilterSet):
    collection = django_filters.UUIDFilter(field_name="collection_id")
    type = django_filters.ChoiceFilter(choices=ArtifactType.choices)
    name = django_filters.CharFilter(lookup_expr="exact")
    name_contains = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    # A value other than true/false is a 400, not an unfiltered list.
    update_available = django_filters.TypedChoiceFilter(
        field_name="update_available",
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
    )

    class Meta:
        model = Artifact
        fields = ["collection", "type", "name", "name_contains", "update_available"]


class RefreshRunFilter(django_filters.FilterSet):
    collection = django_filters.UUIDFilter(field_name="collection_id")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    mode = django_filters.ChoiceFilter(choices=Mode.choices)
    trigger = django_filters.ChoiceFilter(choices=Trigger.choices)

    class Meta:
        model = RefreshRun
        fields = ["collection", "status", "mode", "trigger", "dry_run"]
