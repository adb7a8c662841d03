"""Working days over the State Council's holidays and 调休 days, and deadlines that pauses and extensions move."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.whistle.builders import CAL
from whistle.domain.calendar import SHANGHAI, Deadline, HolidayCalendar, Limit, Unit
from whistle.domain.errors import InvalidTransition, LimitInvalid


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("day", "worked"),
    [
        (date(2026, 2, 13), True),  # Friday before the Spring Festival
        (date(2026, 2, 14), True),  # Saturday, 调休: worked
        (date(2026, 2, 16), False),  # Monday in the Spring Festival
        (date(2026, 2, 23), False),  # its last day, a Monday
        (date(2026, 2, 28), True),  # Saturday, 调休
        (date(2026, 3, 7), False),  # a plain Saturday
        (date(2026, 1, 4), True),  # Sunday, worked for New Year
        (date(2026, 10, 10), True),
        (date(2026, 10, 7), False),
        (date(2025, 1, 26), True),  # 2025: Sunday worked for the Spring Festival
        (date(2025, 2, 4), False),
        (date(2025, 10, 8), False),  # 2025's National Day and Mid-Autumn together, to the 8th
        (date(2025, 10, 11), True),
    ],
)
def test_which_days_are_worked(day, worked):
    assert CAL.is_working_day(day) is worked


def test_the_shipped_calendar_has_both_years():
    assert len(CAL.makeup_workdays) == 11  # 2025: 5, 2026: 6
    assert {d.year for d in CAL.holidays} == {2025, 2026}


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (local(2026, 2, 13, 10), 1, local(2026, 2, 14, 10)),  # Friday -> the 调休 Saturday
        (local(2026, 2, 13, 10), 2, local(2026, 2, 24, 10)),  # ... over the nine-day holiday
        (local(2026, 2, 13, 10), 5, local(2026, 2, 27, 10)),
        (local(2026, 2, 13, 10), 6, local(2026, 2, 28, 10)),  # the second 调休 Saturday
        (local(2026, 2, 18, 15, 30), 1, local(2026, 2, 24, 15, 30)),  # blown during the holiday
        (local(2026, 3, 7, 10), 1, local(2026, 3, 9, 10)),  # on a Saturday: Monday, same time
        (local(2026, 3, 6, 16), 1, local(2026, 3, 9, 16)),  # Friday 16:00 -> Monday 16:00
        (local(2025, 1, 24, 9), 1, local(2025, 1, 26, 9)),  # 2025: Friday -> the 调休 Sunday
        (local(2025, 1, 24, 9), 3, local(2025, 2, 5, 9)),
    ],
)
def test_working_days_count_from_the_next_day_at_the_same_time(start, days, due):
    assert CAL.add(start, Limit(days, Unit.WORKING_DAYS)) == due


def test_working_days_are_cut_in_shanghai_whatever_the_zone_given():
    start = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # Saturday 01:00 in Shanghai
    due = CAL.add(start, Limit(1, Unit.WORKING_DAYS))
    assert due == local(2026, 3, 9, 1) and due.tzinfo is UTC


def test_calendar_hours_are_plain_elapsed_time_even_over_holidays():
    start = local(2026, 2, 15, 22)
    assert CAL.add(start, Limit(4, Unit.HOURS)) == local(2026, 2, 16, 2)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        CAL.add(datetime(2026, 3, 2, 9), Limit(1, Unit.HOURS))


@pytest.mark.parametrize(("amount", "unit"), [(0, "hours"), (-1, "working_days"), (True, "hours"), (1, "days")])
def test_a_limit_is_a_positive_whole_number_of_hours_or_working_days(amount, unit):
    with pytest.raises(LimitInvalid):
        Limit(amount, unit)


def test_a_limit_given_as_text_becomes_the_unit():
    assert Limit(2, "working_days").unit is Unit.WORKING_DAYS  # type: ignore[arg-type]


START = local(2026, 3, 2, 9)


def test_a_pause_moves_the_deadline_by_its_length_and_an_open_one_stops_it():
    deadline = Deadline(START, Limit(10, Unit.HOURS))
    paused = deadline.paused(START + timedelta(hours=2))
    assert paused.due_at(CAL) is None and not paused.running and paused.reminders(CAL) == ()
    resumed = paused.resumed(START + timedelta(hours=5))
    assert resumed.due_at(CAL) == START + timedelta(hours=13)
    with pytest.raises(InvalidTransition):
        resumed.resumed(START + timedelta(hours=6))
    with pytest.raises(InvalidTransition):
        paused.paused(START + timedelta(hours=6))
    with pytest.raises(InvalidTransition):
        paused.resumed(START + timedelta(hours=1))


def test_extensions_add_their_limits_after_the_due_instant():
    deadline = Deadline(START, Limit(5, Unit.WORKING_DAYS))  # Monday -> next Monday
    extended = deadline.extended(Limit(2, Unit.WORKING_DAYS)).extended(Limit(3, Unit.HOURS))
    assert extended.due_at(CAL) == local(2026, 3, 11, 12)
    assert deadline.due_at(CAL) == local(2026, 3, 9, 9)  # immutable: the original is unchanged


def test_reminders_at_half_and_four_fifths():
    deadline = Deadline(START, Limit(10, Unit.HOURS))
    assert deadline.reminders(CAL) == ((50, START + timedelta(hours=5)), (80, START + timedelta(hours=8)))


starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(SHANGHAI))
units = st.sampled_from(list(Unit))


@given(starts, st.integers(1, 40), st.integers(1, 40), units)
def test_due_at_is_monotone_in_the_limit(start, a, b, unit):
    small, large = sorted((a, b))
    assert start < CAL.add(start, Limit(small, unit)) <= CAL.add(start, Limit(large, unit))


@given(starts, st.integers(1, 30))
def test_a_working_day_deadline_falls_on_a_working_day_at_the_starts_time(start, days):
    due = CAL.add(start, Limit(days, Unit.WORKING_DAYS)).astimezone(SHANGHAI)
    assert CAL.is_working_day(due.date()) and due.time() == start.time()


@given(starts, st.integers(1, 30), st.integers(0, 72), st.integers(0, 72))
def test_a_pause_never_brings_a_deadline_forward(start, hours, after, length):
    deadline = Deadline(start, Limit(hours, Unit.HOURS))
    pause_at = start + timedelta(hours=after)
    moved = deadline.paused(pause_at).resumed(pause_at + timedelta(hours=length))
    assert moved.due_at(CAL) == deadline.due_at(CAL) + timedelta(hours=length)  # type: ignore[operator]


def test_an_empty_calendar_works_weekdays():
    plain = HolidayCalendar()
    assert plain.is_working_day(date(2026, 2, 16)) and not plain.is_working_day(date(2026, 2, 14))
