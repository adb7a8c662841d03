"""One whistle, one assessment (一哨一考核): per whistle and department, whether it reported in and resolved on
time, the secretary's rating and the requester's satisfaction; and the monthly figures and ranking of the
departments and streets."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically"  # 基本满意
    NOT = "not"  # 不满意


SATISFIED_ENOUGH = frozenset({Satisfaction.SATISFIED, Satisfaction.BASICALLY})
GROUPS = ("department", "street")


@dataclass(frozen=True)
class Record:
    """One department's part in one whistle (its latest round), as of when it was taken."""

    whistle_id: str
    department: str
    street_code: str
    summoned_at: datetime
    report_in_due: datetime | None  # None while the clock is paused
    resolution_due: datetime | None
    reported_in_at: datetime | None = None
    handled_at: datetime | None = None
    returned: bool = False  # "not our job": counted apart, in no rate
    satisfaction: Satisfaction | None = None
    rating: int | None = None  # the secretary's, 1 to 5

    def reported_on_time(self, as_of: datetime) -> bool:
        return _on_time(self.reported_in_at, self.report_in_due, as_of)

    def resolved_on_time(self, as_of: datetime) -> bool:
        return _on_time(self.handled_at, self.resolution_due, as_of)

    def overdue(self, as_of: datetime) -> bool:
        """Late on either stage as of `as_of`: done after its due instant, or not done and past it."""
        return _late(self.reported_in_at, self.report_in_due, as_of) or _late(
            self.handled_at, self.resolution_due, as_of
        )


def _on_time(done: datetime | None, due: datetime | None, as_of: datetime) -> bool:
    return done is not None and done <= as_of and (due is None or done <= due)


def _late(done: datetime | None, due: datetime | None, as_of: datetime) -> bool:
    if due is None:
        return False
    if done is not None and done <= as_of:
        return done > due
    return as_of > due


@dataclass(frozen=True)
class Figures:
    """A department's or a street's month. Rates are shares in [0, 1], None when nothing was counted:
    response = summonses reported in on time / summonses; resolution = resolved on time / summonses;
    satisfaction = (satisfied + basically satisfied) / requesters who answered. Returned summonses count in
    `returned` only."""

    key: str
    month: str
    summonses: int
    returned: int
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    answered: int
    average_report_in_hours: float | None
    average_resolution_hours: float | None
    average_rating: float | None
    overdue: int


def monthly_figures(
    records: Iterable[Record],
    month: str,
    as_of: datetime,
    group_by: str = "department",
    tz: tzinfo = SHANGHAI,
) -> list[Figures]:
    """The figures of `month` (`YYYY-MM`, cut in Asia/Shanghai by the summons), one per department or street,
    counting only what had happened by `as_of`; sorted by key."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by is one of {', '.join(GROUPS)}")
    key: Callable[[Record], str] = (lambda r: r.department) if group_by == "department" else (lambda r: r.street_code)
    groups: dict[str, list[Record]] = {}
    for record in records:
        if record.summoned_at.astimezone(tz).strftime("%Y-%m") == month and record.summoned_at <= as_of:
            groups.setdefault(key(record), []).append(record)
    return [_figures(k, month, groups[k], as_of) for k in sorted(groups)]


def _figures(key: str, month: str, records: list[Record], as_of: datetime) -> Figures:
    counted = [r for r in records if not r.returned]
    answered = [r.satisfaction for r in counted if r.satisfaction is not None]
    ratings = [r.rating for r in counted if r.rating is not None]
    return Figures(
        key=key,
        month=month,
        summonses=len(counted),
        returned=len(records) - len(counted),
        response_rate=_share(sum(r.reported_on_time(as_of) for r in counted), len(counted)),
        resolution_rate=_share(sum(r.resolved_on_time(as_of) for r in counted), len(counted)),
        satisfaction_rate=_share(sum(s in SATISFIED_ENOUGH for s in answered), len(answered)),
        answered=len(answered),
        average_report_in_hours=_mean_hours([(r.summoned_at, r.reported_in_at) for r in counted], as_of),
        average_resolution_hours=_mean_hours([(r.summoned_at, r.handled_at) for r in counted], as_of),
        average_rating=sum(ratings) / len(ratings) if ratings else None,
        overdue=sum(r.overdue(as_of) for r in counted),
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean_hours(spans: list[tuple[datetime, datetime | None]], as_of: datetime) -> float | None:
    done = [end - start for start, end in spans if end is not None and end <= as_of]
    return sum(done, timedelta()) / len(done) / timedelta(hours=1) if done else None


def ranked(figures: Iterable[Figures]) -> list[tuple[int, Figures]]:
    """Best first, by resolution rate, then response rate, then satisfaction rate (a rate of None last), then
    fewer overdue; equal on all four share a rank (1, 1, 3), and ties are listed by key."""

    def merit(f: Figures) -> tuple[float, float, float, int]:
        return (-_rate(f.resolution_rate), -_rate(f.response_rate), -_rate(f.satisfaction_rate), f.overdue)

    ordered = sorted(figures, key=lambda f: (merit(f), f.key))
    result: list[tuple[int, Figures]] = []
    for position, f in enumerate(ordered, start=1):
        tied = result and merit(result[-1][1]) == merit(f)
        result.append((result[-1][0] if tied else position, f))
    return result


def _rate(rate: float | None) -> float:
    return -1.0 if rate is None else rate
