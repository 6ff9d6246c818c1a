import django_filters

from collections_app.fields import StrictBooleanFilter
from collections_app.models import Artifact, ArtifactType
from refresher.models import Mode, RefreshRun, RunStatus, Trigger

# Filters whose values the schema types (uuid, enum, boolean): an empty value is not one of them.
_TYPED_FILTERS = (
    django_filters.UUIDFilter,
    django_filters.ChoiceFilter,
    django_filters.TypedChoiceFilter,
    django_filters.BooleanFilter,
)


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet where `?collection=` (empty) is a 400 rather than no filter at all.

    django-filter skips empty values; the OpenAPI document says a uuid, an enum value or a
    boolean, which an empty string is not.
    """

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, item in self.filters.items():
            if isinstance(item, _TYPED_FILTERS) and name in self.data and not self.data[name]:
                if name not in self.form.errors:
                    self.form.add_error(name, "This value may not be empty.")
                valid = False
        return valid


class ArtifactFilter(StrictFilterSet):
    collection = django_filters.UUIDFilter(field_name="collection_id")
    type = django_filters.ChoiceFilter(choices=ArtifactType.choices)
    name = django_filters.CharFilter(lookup_expr="exact")
    name_contains = django_filters.CharFilter(field_name="name", lookup_expr="icontains")
    update_available = StrictBooleanFilter(field_name="update_available")

    class Meta:
        model = Artifact
        fields = ["collection", "type", "name", "name_contains", "update_available"]


class RefreshRunFilter(StrictFilterSet):
    collection = django_filters.UUIDFilter(field_name="collection_id")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    mode = django_filters.ChoiceFilter(choices=Mode.choices)
    trigger = django_filters.ChoiceFilter(choices=Trigger.choices)
    dry_run = StrictBooleanFilter(field_name="dry_run")

    class Meta:
        model = RefreshRun
        fields = ["collection", "status", "mode", "trigger", "dry_run"]
