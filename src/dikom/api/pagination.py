"""Paging of API lists: ``limit``/``offset`` with a ceiling, so no request pulls a whole table.

DRF's limit/offset paging quietly falls back to its defaults on a value it
cannot read (``offset=null``, ``limit=1.5``), so a client's typo returns the
first page as if it were right. Here such a value is a 400 naming the
parameter, as the OpenAPI document says: ``limit`` is an integer of at least 1
(larger values are cut to ``max_limit``), ``offset`` an integer from 0 to
``MAX_OFFSET``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

# Far beyond any list the API holds, and small enough for every database's OFFSET.
MAX_OFFSET = 1_000_000_000


def _integer(request: Request, name: str, minimum: int, maximum: int | None) -> int | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise ValidationError({name: [gettext("Give this parameter once.")]}, code="invalid")
    raw = values[0].strip()
    # int() also takes "+5", "1_000" and non-ASCII digits; the contract is plain decimal digits.
    if not (raw.isascii() and raw.lstrip("-").isdigit()):
        raise ValidationError({name: [gettext("A whole number is required.")]}, code="invalid")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        if maximum is None:
            message = gettext("Must be at least %(min)d.") % {"min": minimum}
        else:
            message = gettext("Must be between %(min)d and %(max)d.") % {"min": minimum, "max": maximum}
        raise ValidationError({name: [message]}, code="invalid")
    return value


class LimitOffsetWithCeiling(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000

    def get_limit(self, request: Request) -> int:
        value = _integer(request, self.limit_query_param, 1, None)
        if value is None:
            return self.default_limit
        return min(value, self.max_limit)

    def get_offset(self, request: Request) -> int:
        value = _integer(request, self.offset_query_param, 0, MAX_OFFSET)
        return 0 if value is None else value

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"{parameter['description']} Default {self.default_limit}; "
                    f"values above {self.max_limit} are cut to {self.max_limit}."
                )
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}
        return parameters
