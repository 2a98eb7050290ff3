"""Fee calculation: fixed amounts, JSON-Logic amount rules and a city's local amounts."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import logic
from .schema import text


class FeeError(ValueError):
    """A fee cannot be calculated (malformed rule, negative or non-numeric result)."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class FeeLine:
    """One fee the citizen pays. ``source``: "fixed", "rule" or "local" (a city's own amount)."""

    key: str
    label: str
    amount_cents: int
    source: str


def calculate(
    definition: dict[str, Any],
    answers: dict[str, Any],
    local_fees: dict[str, int] | None = None,
    *,
    language: str = "de",
    today: dt.date | None = None,
) -> list[FeeLine]:
    """The fee lines for ``answers`` (``{step_key: {field_key: value}}``), in definition order.

    A city's amount in ``local_fees`` replaces the amount (fixed or calculated) of
    a fee marked ``locally_adjustable``; for other fees it is ignored, because the
    cooperation agreed on that amount. A rule that yields null or 0 means "no
    such fee for these answers": the line is left out. Rule results are rounded
    to whole cents.
    """
    lines: list[FeeLine] = []
    local_fees = local_fees or {}
    for fee in definition.get("fees") or []:
        if not isinstance(fee, dict):
            continue
        key = str(fee.get("key"))
        label = text(fee.get("label"), language)
        local = local_fees.get(key)
        if fee.get("locally_adjustable") is True and local is not None:
            if isinstance(local, bool) or not isinstance(local, int) or local < 0:
                raise FeeError(f"local amount for fee {key!r} must be a non-negative whole number of cents", key)
            if local > 0:
                lines.append(FeeLine(key, label, local, "local"))
            continue
        if fee.get("amount_rule") is not None:
            try:
                result = logic.evaluate(fee["amount_rule"], answers, today=today)
            except logic.LogicError as error:
                raise FeeError(f"fee {key!r}: {error}", key) from error
            amount = _cents(result, key)
            if amount:
                lines.append(FeeLine(key, label, amount, "rule"))
            continue
        amount_cents = fee.get("amount_cents")
        if isinstance(amount_cents, int) and not isinstance(amount_cents, bool) and amount_cents > 0:
            lines.append(FeeLine(key, label, amount_cents, "fixed"))
    return lines


def total(lines: list[FeeLine]) -> int:
    return sum(line.amount_cents for line in lines)


def _cents(result: Any, key: str) -> int:
    if result is None or result is False:
        return 0
    if isinstance(result, bool) or not isinstance(result, int | float) or not math.isfinite(result):
        raise FeeError(f"fee {key!r}: the rule must yield a number of cents, got {result!r}", key)
    cents = int(Decimal(str(result)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents < 0:
        raise FeeError(f"fee {key!r}: the rule yields a negative amount", key)
    return cents
