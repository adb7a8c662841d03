"""Time as a dependency: the only place that reads the wall clock, plus the cuts made in Asia/Shanghai."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)


class FileClock:
    """A clock for tests of whole processes (a service restarted on the same database, the suite under
    `kit.harness`): the time is what the file says (ISO-8601 with an offset), standing still until the test
    writes another. Only `clock_from_env` makes one, and only under GUANDU_ENV=test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.now()  # a missing or unreadable file stops the process at start, not at its first timer

    def now(self) -> datetime:
        return parse_iso(self.path.read_text(encoding="utf-8").strip())

    def set(self, when: datetime) -> None:
        """What a test calls (from its own process) to move every process reading this file."""
        self.path.write_text(isoformat_z(when), encoding="utf-8")


class ClockFileRefused(ValueError):
    pass


def clock_from_env(env: Mapping[str, str]) -> Clock:
    """The wall clock, or with TEST_CLOCK_FILE set a `FileClock`: refused (the process does not start) unless
    GUANDU_ENV is `test`, which no deployment sets, so a stray setting cannot move production's time."""
    path = env.get("TEST_CLOCK_FILE")
    if not path:
        return SystemClock()
    if env.get("GUANDU_ENV") != "test":
        raise ClockFileRefused("TEST_CLOCK_FILE is a test clock: refused unless GUANDU_ENV=test (never in production)")
    return FileClock(Path(path))


def isoformat_z(when: datetime) -> str:
    """ISO-8601 in UTC with a `Z`, the one wire format for times."""
    if when.tzinfo is None:
        raise ValueError("naive datetime on the wire")
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"time without an offset: {text!r}")
    return when.astimezone(UTC)


def as_utc(when: datetime) -> datetime:
    """Databases (SQLite) may hand back naive datetimes: they are UTC by our storage rule."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def local_date(when: datetime) -> date:
    """The calendar day in Asia/Shanghai: days and months are cut there."""
    return as_utc(when).astimezone(SHANGHAI).date()


def local_month(when: datetime) -> str:
    """`YYYY-MM` of the month in Asia/Shanghai."""
    return local_date(when).strftime("%Y-%m")
