"""Time limits that hold: calendar-hour and working-day limits over a holiday calendar with 调休 days, and the
deadlines of a whistle's stages, which pauses and extensions move."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from whistle.domain.errors import InvalidTransition, LimitInvalid, WhistleError

SHANGHAI = ZoneInfo("Asia/Shanghai")
REMINDER_PERCENTS = (50, 80)


class Unit(StrEnum):
    HOURS = "hours"  # calendar hours: nights, weekends and holidays count
    WORKING_DAYS = "working_days"  # 工作日: weekdays that are not holidays, plus the 调休 weekend days


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise LimitInvalid(f"a limit is a whole number of {self.unit} of at least 1, not {self.amount!r}")
        if self.unit not in tuple(Unit):
            raise LimitInvalid(f"a limit counts hours or working_days, not {self.unit!r}")
        object.__setattr__(self, "unit", Unit(self.unit))  # a plain "hours" becomes the enum member

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


@dataclass(frozen=True)
class HolidayCalendar:
    """Which days are worked: Monday to Friday unless a public holiday, and the weekend days a holiday's 调休
    makes working days. Days are those of `tz` (Asia/Shanghai)."""

    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    tz: tzinfo = SHANGHAI

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add(self, start: datetime, limit: Limit) -> datetime:
        """`start` plus `limit`. Calendar hours are plain elapsed time. N working days are due at the same local
        time of day as `start` on the Nth working day after start's own local day (whether or not that day is
        worked): blown on Friday 16:00 with one working day, due Monday 16:00; on Saturday 10:00, Monday 10:00."""
        if start.tzinfo is None:
            raise ValueError("deadlines need aware datetimes")
        if limit.unit is Unit.HOURS:
            return start + timedelta(hours=limit.amount)
        local = start.astimezone(self.tz)
        day, counted = local.date(), 0
        while counted < limit.amount:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        due = datetime.combine(day, local.time(), tzinfo=self.tz)
        return due.astimezone(start.tzinfo)


@dataclass(frozen=True)
class Pause:
    paused_at: datetime
    resumed_at: datetime | None = None  # None: still paused

    @property
    def length(self) -> timedelta:
        return timedelta() if self.resumed_at is None else self.resumed_at - self.paused_at


@dataclass(frozen=True)
class Deadline:
    """A stage's clock: `limit` from `start`, each approved extension added on top, and each pause given back in
    full (its length in calendar time: the days spent waiting on the resident are not the department's). While
    a pause is open the clock stands still and has no due instant."""

    start: datetime
    limit: Limit
    extensions: tuple[Limit, ...] = ()
    pauses: tuple[Pause, ...] = ()

    @property
    def running(self) -> bool:
        return not self.pauses or self.pauses[-1].resumed_at is not None

    def due_at(self, cal: HolidayCalendar) -> datetime | None:
        return _due_at(self, cal)

    def reminders(self, cal: HolidayCalendar) -> tuple[tuple[int, datetime], ...]:
        """(percent, instant) at 50% and 80% of the time from the start to the due instant; none while paused."""
        due = self.due_at(cal)
        if due is None:
            return ()
        span = due - self.start
        return tuple((percent, self.start + span * percent / 100) for percent in REMINDER_PERCENTS)

    def paused(self, at: datetime) -> Deadline:
        if not self.running:
            raise InvalidTransition("the clock is already paused")
        return replace(self, pauses=(*self.pauses, Pause(at)))

    def resumed(self, at: datetime) -> Deadline:
        if self.running:
            raise InvalidTransition("the clock is not paused")
        last = self.pauses[-1]
        if at < last.paused_at:
            raise InvalidTransition("a clock cannot resume before it was paused")
        return replace(self, pauses=(*self.pauses[:-1], Pause(last.paused_at, at)))

    def extended(self, limit: Limit) -> Deadline:
        return replace(self, extensions=(*self.extensions, limit))

    def extension_until(self, until: datetime, cal: HolidayCalendar) -> Limit:
        """The extension that moves the due instant to `until` or at most an hour past it: whole calendar hours,
        since a department's system asks for an instant, while an extension is a limit added on top."""
        due = self.due_at(cal)
        if due is None:
            raise InvalidTransition("the clock is paused: it has no due instant to extend")
        if until <= due:
            raise WhistleError(
                "the requested due instant is not after the current one",
                {"requested_due_at": [f"after {due.isoformat()}"]},
            )
        return Limit(-(-(until - due) // timedelta(hours=1)), Unit.HOURS)


@lru_cache(maxsize=16384)
def _due_at(deadline: Deadline, cal: HolidayCalendar) -> datetime | None:
    """A deadline's due instant: a pure function of two immutable values, asked for again and again (every
    save's clock rows, every read, every milestone), so remembered."""
    if not deadline.running:
        return None
    due = cal.add(deadline.start, deadline.limit)
    for extension in deadline.extensions:
        due = cal.add(due, extension)
    return due + sum((p.length for p in deadline.pauses), timedelta())
