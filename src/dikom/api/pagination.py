"""Paging of API lists: ``limit``/``offset`` with a ceiling, so no request pulls a whole table."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class LimitOffsetWithCeiling(LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000
