"""Incremental daily rollups: new raw events folded into a kept state of the (municipality, day).

``rollups.compute_daily_stats`` is the reference: it aggregates every event of
a day in SQL. This module computes the same figures from the events one at a
time, so a run only has to read the events that arrived since the last run.

Invariant: the state of a (municipality, day) is the fold of exactly the set of
events applied so far, and ``DayFold.stats()`` equals ``compute_daily_stats``
over that set (``tests/test_rollups_incremental.py`` checks it with random
event streams cut into random batches).

Most figures are sums and simply grow. Four are counts of *distinct* visits
(visits, funnel viewers per step, visits per device class) or need both ends
of a visit (the completion time from start to submission); they cannot be
added from one run to the next. For them the state keeps, per group and visit
key, what decides whether a new event changes the count: the steps seen and
completed, the device classes named, and the first start and submission time.
A new event then changes a distinct count only when its visit, step or device
is new for the group, and moves one visit from one completion-time bucket to
another. That is O(new events) per run. The state holds pseudonymous visit
keys (the salted hashes stored in raw events): it exists only for today and
yesterday, the days whose salts still exist, and is deleted by housekeeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dikom.analytics.models import EventType
from dikom.analytics.rollups import AUTH_KINDS, COUNTERS, PAYMENT_KINDS, UNKNOWN, completion_bucket, empty_stats

# Columns read per event, in this order (``EventRow``).
EVENT_FIELDS = (
    "id",
    "service_id",
    "service_key",
    "type",
    "occurred_at",
    "visit",
    "step_key",
    "step_position",
    "auth_method",
    "payment_method",
    "channel",
    "device_class",
    "rating",
)
EventRow = tuple[Any, ...]
GroupKey = tuple[int | None, str, str]

STARTED = str(EventType.SERVICE_STARTED.value)
SUBMITTED = str(EventType.SUBMITTED.value)
VIEWED = str(EventType.STEP_VIEWED.value)
COMPLETED = str(EventType.STEP_COMPLETED.value)
ABORTED = str(EventType.ABORTED.value)
FEEDBACK = str(EventType.FEEDBACK.value)
_COUNTERS = {str(k.value): v for k, v in COUNTERS.items()}
_AUTH = {str(k.value): v for k, v in AUTH_KINDS.items()}
_PAYMENT = {str(k.value): v for k, v in PAYMENT_KINDS.items()}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

# A visit's record: [first start (µs since epoch) or None, first submission or None,
#                    steps viewed, steps completed, device classes]
START, SUBMIT, STEPS_VIEWED, STEPS_COMPLETED, DEVICES = range(5)


def _bucket(record: list[Any]) -> str | None:
    """The completion-time bucket of a visit, as ``compute_daily_stats`` files it (None: not counted)."""
    started, submitted = record[START], record[SUBMIT]
    if started is None or submitted is None or submitted < started:
        return None
    return str(completion_bucket((submitted - started) / 1_000_000))


class DayFold:
    """The rollup state of one (municipality, day): per group its figures and its visits."""

    def __init__(self) -> None:
        # group → (figures as in ``empty_stats`` without the "unknown" device share, visit → record)
        self.groups: dict[GroupKey, tuple[dict[str, Any], dict[str, list[Any]]]] = {}

    # --- storage ---------------------------------------------------------------------

    def state(self) -> list[list[Any]]:
        """The state as JSON-ready lists (group keys may hold any text, so not as object keys)."""
        return [[*key, stats, visits] for key, (stats, visits) in self.groups.items()]

    @classmethod
    def from_state(cls, groups: list[list[Any]]) -> DayFold:
        fold = cls()
        for service_id, rollup_key, channel, stats, visits in groups:
            fold.groups[(service_id, rollup_key, channel)] = (stats, visits)
        return fold

    # --- folding ---------------------------------------------------------------------

    def apply(self, rows: list[EventRow]) -> None:
        """Fold events (``EVENT_FIELDS`` tuples) into the state; each event must be applied once."""
        groups = self.groups
        for (
            _id,
            service_id,
            service_key,
            type_,
            occurred_at,
            visit,
            step_key,
            step_position,
            auth_method,
            payment_method,
            channel,
            device_class,
            rating,
        ) in rows:
            key = (service_id, "" if service_id is not None else service_key, channel)
            group = groups.get(key)
            if group is None:
                group = groups[key] = (empty_stats(), {})
            stats, visits = group

            record = None
            if visit is not None:
                record = visits.get(visit)
                if record is None:
                    record = visits[visit] = [None, None, [], [], []]
                    stats["visits"] += 1
            elif type_ == STARTED:
                stats["visits"] += 1  # an event without a visit key: only a start counts as a visit

            counter = _COUNTERS.get(type_)
            if counter is not None:
                stats[counter] += 1

            if type_ in (VIEWED, COMPLETED):
                step = stats["funnel"].get(step_key)
                if step is None:
                    step = stats["funnel"][step_key] = {"position": None, "viewed": 0, "completed": 0, "aborted": 0}
                if step_position is not None:
                    step["position"] = max(step["position"] or 0, step_position)
                if record is None:
                    step["viewed" if type_ == VIEWED else "completed"] += 1
                else:
                    seen = record[STEPS_VIEWED if type_ == VIEWED else STEPS_COMPLETED]
                    if step_key not in seen:
                        seen.append(step_key)
                        step["viewed" if type_ == VIEWED else "completed"] += 1
            elif type_ == ABORTED and step_key:
                step = stats["funnel"].get(step_key)
                if step is None:
                    step = stats["funnel"][step_key] = {"position": None, "viewed": 0, "completed": 0, "aborted": 0}
                step["aborted"] += 1
            elif type_ == FEEDBACK and rating is not None:
                histogram = stats["rating_histogram"]
                histogram[str(rating)] = histogram.get(str(rating), 0) + 1
                stats["rating_sum"] += rating
                stats["rating_count"] += 1
            elif type_ in _AUTH:
                mix = stats["auth_mix"].setdefault(auth_method or UNKNOWN, {"chosen": 0, "completed": 0})
                mix[_AUTH[type_]] += 1
            elif type_ in _PAYMENT:
                mix = stats["payment_mix"].setdefault(
                    payment_method or UNKNOWN, {"chosen": 0, "completed": 0, "failed": 0}
                )
                mix[_PAYMENT[type_]] += 1

            if device_class:
                devices = stats["device_mix"]
                if record is not None:
                    if device_class not in record[DEVICES]:
                        record[DEVICES].append(device_class)
                        devices[device_class] = devices.get(device_class, 0) + 1
                elif type_ == STARTED:
                    devices[device_class] = devices.get(device_class, 0) + 1

            if record is not None and type_ in (STARTED, SUBMITTED):
                moment = (occurred_at - EPOCH) // MICROSECOND
                slot = START if type_ == STARTED else SUBMIT
                if record[slot] is None or moment < record[slot]:
                    before = _bucket(record)
                    record[slot] = moment
                    after = _bucket(record)
                    if before != after:
                        histogram = stats["completion_seconds"]
                        if before is not None:
                            histogram[before] -= 1
                            if not histogram[before]:
                                del histogram[before]
                        if after is not None:
                            histogram[after] = histogram.get(after, 0) + 1

    # --- result ----------------------------------------------------------------------

    def stats(self) -> dict[GroupKey, dict[str, Any]]:
        """The rollups, shaped like ``compute_daily_stats``: O(groups × steps), not O(visits)."""
        result = {}
        for key, (stats, _visits) in self.groups.items():
            figures = dict(stats)
            devices = dict(stats["device_mix"])
            unknown = stats["visits"] - sum(devices.values())
            if unknown > 0:
                devices[UNKNOWN] = unknown
            figures["device_mix"] = devices
            result[key] = figures
        return result
