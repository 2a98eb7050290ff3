"""Pages and counts of the inbox (issue 21): the shown list's page and its exact count in one
statement, the tabs' badges counted only up to a cap."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, QuerySet, Window

PAGE_SIZE = 25
TAB_COUNT_CAP = 1000


def capped_count(rows: QuerySet[Any]) -> int:
    """How many rows, counted up to TAB_COUNT_CAP + 1 (the database stops there)."""
    return rows.order_by()[: TAB_COUNT_CAP + 1].count()


def badge(count: int) -> str:
    return f"{TAB_COUNT_CAP}+" if count > TAB_COUNT_CAP else str(count)


class _CountedPaginator(Paginator):
    """A paginator told its count (already known to the view), so that it does not count again."""

    def __init__(self, object_list: Any, per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self.known_count = count

    @property
    def count(self) -> int:
        return self.known_count


#: Beyond this a page number is "past the end" without asking the database (an OFFSET past 2**63 is an error).
MAX_PAGE = 10**9


def _page_number(number: str | None) -> int:
    """As ``Paginator.get_page`` reads it: not a number is page 1; 0 stands for the last page
    (a number below 1, or one past any list's end)."""
    try:
        value = int(number or 1)
    except ValueError:
        return 1
    return value if 1 <= value <= MAX_PAGE else 0


def _page_ids(rows: QuerySet[Any], number: int) -> tuple[list[Any], int | None]:
    """The primary keys of page ``number`` and the number of all rows, in one statement
    (``COUNT(*) OVER ()`` beside the page's keys); the count is None for a page past the end."""
    start = (number - 1) * PAGE_SIZE
    found = list(rows.annotate(_total=Window(Count("pk"))).values_list("pk", "_total")[start : start + PAGE_SIZE])
    return [key for key, _total in found], (found[0][1] if found else None)


def page_of(rows: QuerySet[Any], number: str | None) -> Any:
    """One page of ``rows`` as Django's paginator gives it (a bad number is page 1, one past the end
    the last page). The page's primary keys are selected and sorted first, counted in the same
    statement (narrow rows, so a large inbox sorts ids, not whole rows with their joins, and is
    not read a second time for its count), then only those rows are loaded."""
    wanted = _page_number(number)
    keys, count = _page_ids(rows, wanted) if wanted else ([], None)
    if count is None:
        count = rows.count() if wanted != 1 else 0
        wanted = max((count + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        keys = _page_ids(rows, wanted)[0] if count else []
    page = _CountedPaginator(rows.values_list("pk", flat=True), PAGE_SIZE, count).page(wanted)
    by_pk = {row.pk: row for row in rows.order_by().filter(pk__in=keys)} if keys else {}
    page.object_list = [by_pk[key] for key in keys if key in by_pk]
    return page
