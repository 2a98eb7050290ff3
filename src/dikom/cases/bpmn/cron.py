"""Cron expressions of timer cycles (Camunda 7's Quartz form, Camunda 8's Spring form), written here.

Fields: seconds, minutes, hours, day of month, month, day of week and an optional year
(``0 0/5 * * * ?``, ``0 0 9 ? * MON-FRI``, ``0 0 9 * * MON-FRI``, ``0 0 12 L * ? 2030``). Each field
takes ``*``, values, ranges ``a-b``, lists ``a,b``, steps ``*/n``, ``a/n``, ``a-b/n``; months and days of
the week also by name (``JAN``, ``MON``; a range of days may go round the weekend, ``FRI-MON``). Day of
month: ``L`` (last day), ``L-3``, ``LW`` (last weekday), ``15W`` (the weekday nearest the 15th, within the
month); day of week: ``FRI#3`` (third Friday), ``FRIL`` (last Friday). ``?`` means "any" in the two day
fields. ``@yearly``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight`` and ``@hourly`` stand for their
six-field forms.

Refused (``CronError`` with the reason): five fields (classic Unix cron has no seconds), numbers for days
of the week (Quartz counts 1 = Sunday, Spring 1 = Monday: write ``MON`` … ``SUN``) and steps over them
without a range (``*/2``, for the same reason), a day of month and a day of week both restricted (Quartz
forbids it, Spring and Unix read it differently), ranges of numbers that run backwards (``22-2``), values
out of range, and expressions that never occur (``0 0 0 30 FEB ?``).

``CronExpression.next_after(instant)`` is the next occurrence strictly after ``instant`` in the time zone of the
municipalities (Europe/Berlin): a wall time that does not exist on the day clocks go forward fires that much
later (02:30 → 03:30, as Quartz and Spring do), a wall time that exists twice on the day clocks go back fires
once (at its first occurrence).
"""

from __future__ import annotations

import bisect
import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

LOCAL_TZ = ZoneInfo("Europe/Berlin")
MIN_YEAR, MAX_YEAR = 1970, 2099

MONTHS = {name: number for number, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}  # fmt: skip
#: Python's weekday numbers (Monday 0)
WEEKDAYS = {name: number for number, name in enumerate(["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"])}

MACROS = {
    "@YEARLY": "0 0 0 1 1 ?",
    "@ANNUALLY": "0 0 0 1 1 ?",
    "@MONTHLY": "0 0 0 1 * ?",
    "@WEEKLY": "0 0 0 ? * SUN",
    "@DAILY": "0 0 0 * * ?",
    "@MIDNIGHT": "0 0 0 * * ?",
    "@HOURLY": "0 0 * * * ?",
}

_ITEM = re.compile(r"^(?P<base>\*|[A-Z0-9]+(?:-[A-Z0-9]+)?)(?:/(?P<step>\d+))?$")


class CronError(ValueError):
    """An expression that is no cron expression dikom can run; ``reason`` says why (in the active language)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def looks_like_cron(text: str) -> bool:
    """Whether ``text`` is meant as a cron expression (fields separated by spaces, or a macro), not ISO 8601."""
    fields = text.split()
    if len(fields) == 1 and fields[0].startswith("@"):
        return True
    # the first field is the seconds (or the minutes of a five-field Unix expression): digits and * / , - only
    return len(fields) >= 5 and re.fullmatch(r"[0-9*/,\-]+", fields[0]) is not None


@dataclass(frozen=True)
class _DaySpec:
    """Day of month or day of week: ``any``, a set of numbers, and the special forms."""

    any: bool
    values: frozenset[int] = frozenset()
    last_offsets: frozenset[int] = frozenset()  # day of month: L (0), L-3 (3)
    last_weekday: bool = False  # day of month: LW
    nearest_weekday: frozenset[int] = frozenset()  # day of month: 15W
    nth: frozenset[tuple[int, int]] = frozenset()  # day of week: (weekday, n) of FRI#3
    last_of: frozenset[int] = frozenset()  # day of week: FRIL


@dataclass(frozen=True)
class CronExpression:
    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: _DaySpec
    months: frozenset[int]
    weekdays: _DaySpec
    years: frozenset[int] | None

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        source = " ".join(text.split())
        expanded = MACROS.get(source.upper(), source) if source.startswith("@") else source
        if expanded.startswith("@"):
            raise CronError(_("“%(macro)s” is no known shorthand (@yearly, @monthly, @weekly, @daily, @hourly).")
                            % {"macro": source})  # fmt: skip
        fields = expanded.upper().split()
        if len(fields) == 5:
            raise CronError(
                _(
                    "a cron expression has 6 or 7 fields (seconds minutes hours day-of-month month day-of-week "
                    "[year]); this one has 5. Put the seconds in front, e.g. “0 %(text)s”."
                )
                % {"text": source}
            )
        if len(fields) not in (6, 7):
            raise CronError(
                _(
                    "a cron expression has 6 or 7 fields (seconds minutes hours day-of-month month day-of-week "
                    "[year]); this one has %(count)s."
                )
                % {"count": len(fields)}
            )
        second, minute, hour, dom, month, dow = fields[:6]
        days = _day_of_month(dom)
        weekdays = _day_of_week(dow)
        if not days.any and not weekdays.any:
            raise CronError(
                _(
                    "give either a day of the month (“%(dom)s”) or a day of the week (“%(dow)s”) and “?” in the "
                    "other field; tools read both together differently."
                )
                % {"dom": dom, "dow": dow}
            )
        expression = cls(
            text=source,
            seconds=tuple(sorted(_numbers(second, 0, 59, _("seconds")))),
            minutes=tuple(sorted(_numbers(minute, 0, 59, _("minutes")))),
            hours=tuple(sorted(_numbers(hour, 0, 23, _("hours")))),
            days=days,
            months=frozenset(_numbers(month, 1, 12, _("month"), MONTHS)),
            weekdays=weekdays,
            years=frozenset(_numbers(fields[6], MIN_YEAR, MAX_YEAR, _("year"))) if len(fields) == 7 else None,
        )
        if expression.next_after(datetime(MIN_YEAR, 1, 1, tzinfo=UTC)) is None:
            raise CronError(_("“%(text)s” never occurs.") % {"text": source})
        return expression

    # --- occurrences ---------------------------------------------------------------------------

    def next_after(self, instant: datetime) -> datetime | None:
        """The next occurrence strictly after ``instant`` (UTC), or None when there is none (before 2100)."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        wall = instant.astimezone(LOCAL_TZ).replace(tzinfo=None)
        for _attempt in range(4):  # at most the repeated hour of one autumn day is passed over
            candidate = self._next_wall(wall)
            if candidate is None:
                return None
            # fold=0: a time that exists twice is its first occurrence; one that does not exist is read with the
            # offset before the change, i.e. that much later (02:30 → 03:30 CEST).
            moment = candidate.replace(tzinfo=LOCAL_TZ, fold=0).astimezone(UTC)
            if moment > instant:
                return moment
            # a wall time of the repeated hour that already occurred (in its first pass): it fires once
            wall = candidate
        return None

    def _next_wall(self, after: datetime) -> datetime | None:
        """The first wall-clock time strictly after ``after`` that matches every field."""
        start = after.replace(microsecond=0) + timedelta(seconds=1)
        day = start.date()
        while day.year <= MAX_YEAR:
            if self.years is not None and day.year not in self.years:
                later = [y for y in self.years if y > day.year]
                if not later:
                    return None
                day = date(min(later), 1, 1)
                continue
            if day.month not in self.months:
                day = _first_of_next_month(day)
                continue
            if self._day_matches(day):
                found = self._time_at_or_after(start.time() if day == start.date() else time(0))
                if found is not None:
                    return datetime.combine(day, found)
            day += timedelta(days=1)
        return None

    def _time_at_or_after(self, earliest: time) -> time | None:
        for hour in self.hours[bisect.bisect_left(self.hours, earliest.hour) :]:
            min_minute = earliest.minute if hour == earliest.hour else 0
            for minute in self.minutes[bisect.bisect_left(self.minutes, min_minute) :]:
                min_second = earliest.second if (hour, minute) == (earliest.hour, earliest.minute) else 0
                index = bisect.bisect_left(self.seconds, min_second)
                if index < len(self.seconds):
                    return time(hour, minute, self.seconds[index])
        return None

    def _day_matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if not self.days.any:
            spec = self.days
            return (
                day.day in spec.values
                or any(day.day == last - offset for offset in spec.last_offsets)
                or (spec.last_weekday and day == _nearest_weekday(day.replace(day=last)))
                or any(day == _nearest_weekday(day.replace(day=n)) for n in spec.nearest_weekday if n <= last)
            )
        if not self.weekdays.any:
            spec = self.weekdays
            weekday = day.weekday()
            return (
                weekday in spec.values
                or (weekday, (day.day - 1) // 7 + 1) in spec.nth
                or (weekday in spec.last_of and day.day + 7 > last)
            )
        return True


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _nearest_weekday(day: date) -> date:
    """The weekday (Monday to Friday) nearest ``day`` within its month (Quartz's ``W``)."""
    if day.weekday() < 5:
        return day
    last = calendar.monthrange(day.year, day.month)[1]
    if day.weekday() == 5:  # Saturday: the Friday before, unless that is in the month before
        return day - timedelta(days=1) if day.day > 1 else day + timedelta(days=2)
    return day + timedelta(days=1) if day.day < last else day - timedelta(days=2)  # Sunday


def _value(token: str, low: int, high: int, label: str, names: dict[str, int] | None) -> int:
    if names is not None and token in names:
        return names[token]
    if not token.isdigit():
        raise CronError(_("“%(value)s” is no value of the %(field)s field.") % {"value": token, "field": label})
    number = int(token)
    if not low <= number <= high:
        raise CronError(
            _("%(value)s is outside the %(field)s field (%(low)s to %(high)s).")
            % {"value": number, "field": label, "low": low, "high": high}
        )
    return number


def _numbers(field: str, low: int, high: int, label: str, names: dict[str, int] | None = None) -> set[int]:
    if field == "?":
        raise CronError(_("“?” is only allowed for the day of the month or the day of the week."))
    result: set[int] = set()
    for item in field.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise CronError(_("“%(item)s” is no valid part of the %(field)s field.") % {"item": item, "field": label})
        base, step_text = match.group("base"), match.group("step")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise CronError(_("the step in “%(item)s” must be at least 1.") % {"item": item})
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, last_text = base.split("-")
            first, last = _value(first_text, low, high, label, names), _value(last_text, low, high, label, names)
            if first > last:
                raise CronError(
                    _("the range “%(item)s” runs backwards; write it as two ranges (e.g. “22-23,0-2”).")
                    % {"item": item}
                )
        else:
            first = _value(base, low, high, label, names)
            last = high if step_text else first
        result.update(range(first, last + 1, step))
    return result


def _day_of_month(field: str) -> _DaySpec:
    if field in {"*", "?"}:
        return _DaySpec(any=True)
    values: set[int] = set()
    offsets: set[int] = set()
    nearest: set[int] = set()
    last_weekday = False
    for item in field.split(","):
        if item == "L":
            offsets.add(0)
        elif re.fullmatch(r"L-\d+", item):
            offset = int(item[2:])
            if offset > 30:
                raise CronError(_("“%(item)s” reaches before the start of every month.") % {"item": item})
            offsets.add(offset)
        elif item == "LW":
            last_weekday = True
        elif re.fullmatch(r"\d+W", item):
            nearest.add(_value(item[:-1], 1, 31, _("day of month"), None))
        else:
            values |= _numbers(item, 1, 31, _("day of month"))
    return _DaySpec(
        any=False,
        values=frozenset(values),
        last_offsets=frozenset(offsets),
        last_weekday=last_weekday,
        nearest_weekday=frozenset(nearest),
    )


def _weekday(token: str) -> int:
    if token in WEEKDAYS:
        return WEEKDAYS[token]
    if token.isdigit():
        raise CronError(
            _(
                "days of the week must be written as names (MON, TUE, WED, THU, FRI, SAT, SUN): tools count “%(value)s” "
                "differently (Quartz from Sunday, Spring from Monday)."
            )
            % {"value": token}
        )
    raise CronError(_("“%(value)s” is no day of the week (MON … SUN).") % {"value": token})


def _day_of_week(field: str) -> _DaySpec:
    if field in {"*", "?"}:
        return _DaySpec(any=True)
    values: set[int] = set()
    nth: set[tuple[int, int]] = set()
    last_of: set[int] = set()
    for item in field.split(","):
        if "#" in item:
            day_text, _sep, n_text = item.partition("#")
            if not n_text.isdigit() or not 1 <= int(n_text) <= 5:
                raise CronError(_("in “%(item)s” the number after # must be 1 to 5.") % {"item": item})
            nth.add((_weekday(day_text), int(n_text)))
        elif len(item) > 1 and item.endswith("L"):
            last_of.add(_weekday(item[:-1]))
        elif item == "L":
            raise CronError(_("write the last day of a week as a name followed by L, e.g. “FRIL”."))
        else:
            match = _ITEM.match(item)
            if match is None:
                raise CronError(_("“%(item)s” is no valid part of the day of week field.") % {"item": item})
            base, step_text = match.group("base"), match.group("step")
            step = int(step_text) if step_text else 1
            if step < 1:
                raise CronError(_("the step in “%(item)s” must be at least 1.") % {"item": item})
            if step_text and "-" not in base:
                raise CronError(
                    _(
                        "“%(item)s”: a step in the day of week field needs a range such as “MON-FRI/2” (tools "
                        "start the week on different days)."
                    )
                    % {"item": item}
                )
            if "-" in base:
                first_text, last_text = base.split("-")
                first, last = _weekday(first_text), _weekday(last_text)
                span = (last - first) % 7  # FRI-MON goes round the weekend
                values.update((first + offset) % 7 for offset in range(0, span + 1, step))
            else:
                values.add(_weekday(base))
    return _DaySpec(any=False, values=frozenset(values), nth=frozenset(nth), last_of=frozenset(last_of))
