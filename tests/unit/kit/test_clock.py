from datetime import UTC, datetime, timedelta, timezone

import pytest

from kit.clock import FixedClock, isoformat_z, local_date, local_month, parse_iso


def test_wire_times_are_utc_with_z():
    when = datetime(2026, 11, 28, 12, 0, tzinfo=timezone(timedelta(hours=8)))
    assert isoformat_z(when) == "2026-11-28T04:00:00Z"
    assert parse_iso("2026-11-28T04:00:00Z") == when


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive"):
        isoformat_z(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="without an offset"):
        parse_iso("2026-11-28T04:00:00")


def test_days_and_months_are_cut_in_shanghai():
    # 16:30 UTC on 31 January is already 1 February in Kunming.
    when = datetime(2026, 1, 31, 16, 30, tzinfo=UTC)
    assert local_date(when).isoformat() == "2026-02-01"
    assert local_month(when) == "2026-02"


def test_fixed_clock_moves_only_when_told():
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.advance(timedelta(minutes=5))
    assert clock.now() == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
