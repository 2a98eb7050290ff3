"""Compare the maintained level sums (``LevelSum``, kept by triggers) with a full recomputation."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from dikom.competences import gaps, levelsums
from dikom.competences.models import LevelSum
from dikom.municipalities.models import Municipality


class _Rollback(Exception):
    pass


def _table() -> dict[tuple[Any, ...], int]:
    return levelsums.snapshot()


def _nonzero(sums: dict[tuple[str, int, int], list[int]]) -> dict[tuple[str, int, int], list[int]]:
    return {key: values for key, values in sums.items() if any(values)}


def assert_level_sums_consistent(quarters: int = 6) -> None:
    """The table equals a rebuild from the assessments, and the figures the pages read equal the recomputation."""
    maintained = _table()
    rebuilt: dict[tuple[Any, ...], int] = {}
    try:
        with transaction.atomic():
            levelsums.rebuild()
            rebuilt = _table()
            raise _Rollback
    except _Rollback:
        pass
    assert maintained == rebuilt
    ends = [end for _label, end in gaps._quarter_ends(quarters, timezone.localdate())]
    for city_id in Municipality.objects.values_list("pk", flat=True):
        for unit_ids in (
            None,
            set(LevelSum.objects.filter(municipality_id=city_id).values_list("org_unit_id", flat=True)[:1]),
        ):
            assert _nonzero(gaps._level_sums(city_id, unit_ids, ends)) == _nonzero(
                gaps.level_sums_recomputed(city_id, unit_ids, ends)
            ), (city_id, unit_ids)
