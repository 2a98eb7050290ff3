"""Cursor paging of the case list: stable while new cases arrive, no OFFSET over a growing table.

Oldest first (``created_at``, then id), so a specialist procedure reads new
cases in the order they came; ``created_since`` resumes a later poll where the
last one ended. An unreadable ``cursor`` is a 400 naming the parameter (DRF
would answer 404, as if the list did not exist).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from dikom.api.pagination import _integer


class CaseCursorPagination(CursorPagination):
    ordering = ("created_at", "id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        value = _integer(request, self.page_size_query_param, 1, None)
        return self.page_size if value is None else min(value, self.max_page_size)

    def decode_cursor(self, request: Request) -> Any:
        if len(request.query_params.getlist(self.cursor_query_param)) > 1:
            raise ValidationError({self.cursor_query_param: [gettext("Give this parameter once.")]}, code="invalid")
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError(
                {self.cursor_query_param: [gettext("This cursor is not valid; use the `next` address of a page.")]},
                code="invalid",
            ) from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Cases per page. Default {self.page_size}; values above {self.max_page_size} are cut."
                )
        return parameters
