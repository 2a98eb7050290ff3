"""Usage figures of a service over a period, computed only from daily rollups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from dikom.analytics.models import ServiceDailyStats
from dikom.analytics.rollups import COMPLETION_BOUNDS, DISPLAY_BOUNDS


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _add(target: dict[str, Any], source: dict[str, Any]) -> None:
    """Add the counts of ``source`` into ``target`` (nested dicts alike); ``position`` keeps the maximum.

    Called for every rollup row a page reads (over a thousand for a city's month): written
    for speed (exact type tests, no isinstance chain); rollup JSON holds only dicts, ints and
    None.
    """
    for key, value in source.items():
        kind = type(value)
        if kind is dict:
            inner = target.get(key)
            if inner is None:
                inner = target[key] = {}
            _add(inner, value)
        elif key == "position":
            if value is not None:
                target[key] = max(target.get(key) or 0, value)
            else:
                target.setdefault(key, None)
        elif kind is int or kind is float:
            target[key] = target.get(key, 0) + value
        else:
            target.setdefault(key, value)


def add_funnel(target: dict[str, dict[str, Any]], funnel: dict[str, dict[str, Any]]) -> None:
    """``_add`` for one rollup row's funnel (step → counts and position), flat: the overview
    merges a funnel per service, day and channel of its period."""
    for step, counts in funnel.items():
        merged = target.get(step)
        if merged is None:
            target[step] = dict(counts)
            continue
        for key, value in counts.items():
            if key == "position":
                if value is not None:
                    merged[key] = max(merged.get(key) or 0, value)
                else:
                    merged.setdefault(key, None)
            else:
                merged[key] = merged.get(key, 0) + value


def median_seconds(histogram: dict[str, int]) -> float | None:
    """The median of a fine completion-time histogram, interpolated linearly within its bucket."""
    total = sum(histogram.values())
    if not total:
        return None
    half = total / 2
    seen = 0
    for index, lower in enumerate(COMPLETION_BOUNDS):
        count = histogram.get(str(lower), 0)
        if count and seen + count >= half:
            upper = COMPLETION_BOUNDS[index + 1] if index + 1 < len(COMPLETION_BOUNDS) else lower * 2
            return round(lower + (upper - lower) * (half - seen) / count, 1)
        seen += count
    return None  # pragma: no cover - unreachable when counts add up


def display_histogram(histogram: dict[str, int]) -> list[dict[str, Any]]:
    """The fine histogram folded into the buckets shown to people (<60 s … ≥3600 s)."""
    counts = dict.fromkeys(DISPLAY_BOUNDS, 0)
    for lower, count in histogram.items():
        seconds = int(lower)
        bucket = max(b for b in DISPLAY_BOUNDS if b <= seconds)
        counts[bucket] += count
    result = []
    for index, bound in enumerate(DISPLAY_BOUNDS):
        upper = DISPLAY_BOUNDS[index + 1] if index + 1 < len(DISPLAY_BOUNDS) else None
        result.append({"from_seconds": bound, "to_seconds": upper, "count": counts[bound]})
    return result


def _funnel(steps: dict[str, dict[str, Any]], completions: int) -> list[dict[str, Any]]:
    """Steps in order (position, then first seen) with drop-off = viewers who never reached the next step."""
    ordered = sorted(steps.items(), key=lambda item: (item[1].get("position") is None, item[1].get("position") or 0))
    result = []
    for index, (key, step) in enumerate(ordered):
        viewed = step.get("viewed", 0)
        reached_next = ordered[index + 1][1].get("viewed", 0) if index + 1 < len(ordered) else completions
        drop_off = max(viewed - reached_next, 0)
        result.append(
            {
                "step_key": key,
                "position": step.get("position"),
                "viewed": viewed,
                "completed": step.get("completed", 0),
                "aborted": step.get("aborted", 0),
                "drop_off": drop_off,
                "drop_off_rate": _rate(drop_off, viewed),
            }
        )
    return result


def _shares(counts: dict[str, int]) -> list[dict[str, Any]]:
    total = sum(counts.values())
    return [
        {"key": key, "count": count, "share": _rate(count, total)}
        for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


ROLLUP_FIELDS = (
    "visits",
    "starts",
    "completions",
    "aborts",
    "transmission_errors",
    "feedback_count",
    "rating_sum",
    "rating_count",
    "rating_histogram",
    "funnel",
    "auth_mix",
    "payment_mix",
    "device_mix",
    "completion_seconds",
)


def service_summary(
    *, municipality_id: int, service_id: int, since: date, until: date, channel: str | None = None
) -> dict[str, Any]:
    """Every figure of one service between ``since`` and ``until`` (inclusive), from rollups only."""
    rows = ServiceDailyStats.objects.filter(
        municipality_id=municipality_id, service_id=service_id, day__gte=since, day__lte=until
    )
    if channel:
        rows = rows.filter(channel=channel)
    return {"period": {"from": since, "to": until}, **summarize(rows.values("channel", *ROLLUP_FIELDS))}


def summarize(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The figures of any set of rollup rows (dicts with ``channel`` and the rollup columns):
    one service over a period, a whole city, one widget of a dashboard."""
    totals: dict[str, Any] = {}
    channels: dict[str, int] = {}
    for row in rows:
        channels[row["channel"]] = channels.get(row["channel"], 0) + row["visits"]
        _add(totals, {k: row[k] for k in ROLLUP_FIELDS if k != "visits" and k in row})
    visits = sum(channels.values())
    starts = totals.get("starts", 0)
    completions = totals.get("completions", 0)
    rating_count = totals.get("rating_count", 0)
    histogram = totals.get("completion_seconds", {})
    payment_mix = totals.get("payment_mix", {})
    payments_done = sum(m.get("completed", 0) + m.get("failed", 0) for m in payment_mix.values())
    payments_failed = sum(m.get("failed", 0) for m in payment_mix.values())
    auth_mix = totals.get("auth_mix", {})
    return {
        "visits": visits,
        "starts": starts,
        "completions": completions,
        "aborts": totals.get("aborts", 0),
        "conversion_rate": _rate(completions, starts),
        "abandonment_rate": _rate(max(starts - completions, 0), starts),
        "transmission_errors": totals.get("transmission_errors", 0),
        "feedback_count": totals.get("feedback_count", 0),
        "satisfaction": {
            "average": round(totals.get("rating_sum", 0) / rating_count, 2) if rating_count else None,
            "count": rating_count,
            "distribution": {str(r): totals.get("rating_histogram", {}).get(str(r), 0) for r in range(1, 6)},
        },
        "funnel": _funnel(totals.get("funnel", {}), completions),
        "authentication": [
            {**share, "chosen": auth_mix[share["key"]].get("chosen", 0)}
            for share in _shares({k: v.get("completed", 0) for k, v in auth_mix.items()})
        ],
        "payment": {
            "failure_rate": _rate(payments_failed, payments_done),
            "methods": [
                {
                    **share,
                    "chosen": payment_mix[share["key"]].get("chosen", 0),
                    "failed": payment_mix[share["key"]].get("failed", 0),
                    "failure_rate": _rate(
                        payment_mix[share["key"]].get("failed", 0),
                        payment_mix[share["key"]].get("failed", 0) + share["count"],
                    ),
                }
                for share in _shares({k: v.get("completed", 0) for k, v in payment_mix.items()})
            ],
        },
        "channels": _shares(channels),
        "devices": _shares(totals.get("device_mix", {})),
        "completion_time": {
            "median_seconds": median_seconds(histogram),
            "count": sum(histogram.values()),
            "histogram": display_histogram(histogram),
        },
    }


def funnel_steps(steps: dict[str, dict[str, Any]], completions: int) -> list[dict[str, Any]]:
    """The funnel of ``steps`` (step → position and viewers), as in a summary (for the city comparison)."""
    return _funnel(steps, completions)


def method_shares(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Keys with their counts and shares of the total, largest first (as in a summary)."""
    return _shares(counts)
