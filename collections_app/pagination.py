"""Page-number pagination whose query parameters are checked as strictly as the schema says."""

from collections.abc import Sequence

from django.db.models import Model, QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from refresher.json_types import JSON

# Page numbers longer than this are past the last page of any list.
_DIGITS = 18


class Pagination(PageNumberPagination):
    """`{count, next, previous, results}` pages; `?page_size=` from 1 up to 500.

    DRF's own pagination answers `?page=0` or `?page=abc` with a 404 and quietly replaces a bad
    `page_size` with the default. Here both are 400 `invalid_request` (bad input); a page number
    past the last page stays a 404, as the OpenAPI document says.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    last_page_strings = ()

    def paginate_queryset[M: Model, Row](
        self,
        queryset: QuerySet[M, Row] | Sequence[Row],
        request: Request,
        view: APIView | None = None,
    ) -> list[Row] | None:
        raw = request.query_params.get(self.page_query_param)
        if raw is not None:
            if not (raw.isascii() and raw.isdigit()) or not raw.strip("0"):
                raise ValidationError({self.page_query_param: ["Must be a whole number from 1."]})
            if len(raw.lstrip("0")) > _DIGITS:
                # A valid number, and far past the last page like any other such number.
                raise NotFound("Invalid page.")
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return _positive_int(self.page_size_query_param, raw, maximum=self.max_page_size)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, JSON]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    "A page number, from 1; a page past the last one is a 404."
                )
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_page_size} (default {self.page_size})."
                )
        return parameters


def _positive_int(name: str, raw: str, *, maximum: int) -> int:
    # A bounded number of digits keeps int() fast and far from its limit on long strings.
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= _DIGITS else 0
    if not 1 <= value <= maximum:
        raise ValidationError({name: [f"Must be a whole number from 1 to {maximum}."]})
    return value
