"""What applying a set of rows would change: per (month, service, metric) added, changed, removed or unchanged.

Applying replaces every figure of the same municipality and source in each
month the rows contain (and only those months); the preview shows exactly that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from dikom.analytics.figures.models import MonthlyFigure, plain_decimal
from dikom.analytics.figures.rows import FigureRow, ServiceResolver, find_duplicates, identity
from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality

KINDS = ("added", "changed", "removed", "unchanged")


@dataclass
class Change:
    kind: str
    month: date
    metric: str
    service: Service | None
    service_key: str
    leika_key: str
    old: Decimal | None = None
    new: Decimal | None = None
    old_observations: int | None = None
    new_observations: int | None = None

    @property
    def old_display(self) -> str | None:
        return _plain(self.old)

    @property
    def new_display(self) -> str | None:
        return _plain(self.new)

    def as_dict(self) -> dict[str, Any]:
        return {
            "change": self.kind,
            "month": f"{self.month:%Y-%m}",
            "metric": self.metric,
            "service": str(self.service.uuid) if self.service else None,
            "service_key": self.service_key,
            "leika": self.leika_key,
            "old": _plain(self.old),
            "new": _plain(self.new),
        }


@dataclass
class Preview:
    months: list[date]
    changes: list[Change]
    rows: list[tuple[int, FigureRow, Service | None]]  # the rows that will be stored
    duplicate_errors: list[dict[str, Any]] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def totals(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for change in self.changes:
            counts[change.kind] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return any(change.kind != "unchanged" for change in self.changes)


def _plain(value: Decimal | None) -> str | None:
    """A decimal without trailing zeros: 12, 2.5 (never 1E+1)."""
    return None if value is None else plain_decimal(value)


def compute_preview(municipality: Municipality, source: str, numbered_rows: Sequence[tuple[int, FigureRow]]) -> Preview:
    resolver = ServiceResolver(municipality)
    resolved = [(number, row, resolver.resolve(row.service_key, row.leika_key)) for number, row in numbered_rows]
    duplicates = find_duplicates(resolved)
    duplicate_errors = [
        {
            "row": number,
            "column": "",
            "message": _("Row %(row)d repeats the figure of row %(first)d (same month, service and metric).")
            % {"row": number, "first": first},
        }
        for number, first in duplicates.items()
    ]
    rows = [item for item in resolved if item[0] not in duplicates]
    months = sorted({row.month for _n, row, _s in rows})
    existing = list(
        MonthlyFigure.objects.filter(municipality=municipality, source=source, month__in=months)
        .select_related("service")
        .order_by("pk")
    )
    old_by_identity: dict[tuple[Any, ...], MonthlyFigure] = {}
    for figure in existing:
        service = resolver.resolve(figure.service_key, figure.leika_key) or figure.service
        old_by_identity[_figure_identity(figure, service)] = figure
    changes: list[Change] = []
    seen: set[tuple[Any, ...]] = set()
    for _number, row, service in rows:
        key = identity(row, service)
        seen.add(key)
        old = old_by_identity.get(key)
        change = Change(
            kind="added",
            month=row.month,
            metric=row.metric,
            service=service,
            service_key=row.service_key,
            leika_key=row.leika_key,
            new=row.value,
            new_observations=row.observations,
        )
        if old is not None:
            change.old, change.old_observations = old.value, old.observations
            same = old.value == row.value and old.observations == row.observations
            change.kind = "unchanged" if same else "changed"
        changes.append(change)
    for key, figure in old_by_identity.items():
        if key not in seen:
            changes.append(
                Change(
                    kind="removed",
                    month=figure.month,
                    metric=figure.metric,
                    service=resolver.resolve(figure.service_key, figure.leika_key) or figure.service,
                    service_key=figure.service_key,
                    leika_key=figure.leika_key,
                    old=figure.value,
                    old_observations=figure.observations,
                )
            )
    changes.sort(key=lambda c: (c.month, c.service.name if c.service else "~", c.service_key, c.leika_key, c.metric))
    fingerprint = _fingerprint(existing, rows)
    return Preview(months, changes, rows, duplicate_errors, fingerprint)


def _figure_identity(figure: MonthlyFigure, service: Service | None) -> tuple[Any, ...]:
    row = FigureRow(figure.month, figure.service_key, figure.leika_key, figure.metric, figure.value, None)
    return identity(row, service)


def _fingerprint(existing: Sequence[MonthlyFigure], rows: Sequence[tuple[int, FigureRow, Service | None]]) -> str:
    """Changes when the stored figures of the months, or how rows resolve to services, change."""
    state = [
        sorted([f.pk, str(f.value), f.observations, f.service_id] for f in existing),
        [[n, s.pk if s else None] for n, _r, s in rows],
    ]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:32]
