"""Seats with a waiting list on one parent row (a training, a forum event), shared by the apps.

The rule: whoever changes who holds a seat first locks the parent row (``lock``), inside
the caller's transaction. While it is locked nobody else can count or change the seats
of that parent, so two people taking the last seat at the same moment never both get it:
the second waits for the lock, then counts the first one's seat and lands on the waiting
list. A freed seat goes to whoever waits longest (``fill_free_seats``). What "holding a
seat" and "waiting" mean (status values, fields) stays with each app.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import QuerySet

M = TypeVar("M", bound=models.Model)


def lock(model: type[M], pk: Any) -> M:
    """The parent row, locked until the surrounding transaction ends (SELECT … FOR UPDATE)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("waitlist.lock needs a transaction (transaction.atomic)")
    return model._default_manager.select_for_update().get(pk=pk)


def seat_is_free(seats: int, holders: QuerySet[Any]) -> bool:
    """Whether another person gets a seat; call only with the parent locked."""
    return holders.count() < seats


def fill_free_seats(
    seats: int,
    holders: QuerySet[M],
    waiting: QuerySet[M],
    *,
    seat: dict[str, Any],
    order: Sequence[str] = ("created_at", "id"),
) -> list[M]:
    """Give every free seat to the longest waiting (``order``); returns whoever moved up.

    ``seat`` holds the field values that mark a row as holding a seat (e.g. a status). Call
    only with the parent locked. Usually one seat was freed and one person moves up; after
    the seats were raised several may.
    """
    free = seats - holders.count()
    if free <= 0:
        return []
    moved = list(waiting.order_by(*order)[:free])
    for row in moved:
        for name, value in seat.items():
            setattr(row, name, value)
        fields = [*seat, *(["updated_at"] if any(f.name == "updated_at" for f in row._meta.fields) else [])]
        row.save(update_fields=fields)
    return moved
