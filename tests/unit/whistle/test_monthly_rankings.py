"""The monthly assessment's own arithmetic, without a database: months cut in Asia/Shanghai (a year's turn
included), and the rankings a month is closed with (the district's and each street's departments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from whistle.app.assessment import figure_rows, month_span
from whistle.domain.assessment import Record

MARCH = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_months_are_cut_in_shanghai_and_turn_the_year():
    start, end = month_span("2026-12")
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
    )
    assert month_span("1999-01")[0].astimezone(UTC) == datetime(1998, 12, 31, 16, 0, tzinfo=UTC)


def record(department: str, street: str, reported: bool) -> Record:
    return Record(
        whistle_id=f"{department}-{street}",
        department=department,
        street_code=street,
        summoned_at=MARCH,
        report_in_due=MARCH + timedelta(hours=1),
        resolution_due=MARCH + timedelta(days=1),
        reported_in_at=MARCH + timedelta(minutes=10) if reported else None,
        handled_at=MARCH + timedelta(hours=2) if reported else None,
    )


def test_a_month_is_ranked_in_the_district_and_within_each_street():
    records = [record("water", "wujing", True), record("police", "wujing", False), record("police", "liujia", True)]
    rows = figure_rows(records, "2026-03", MARCH + timedelta(days=30))
    ranks = {(r["group_by"], r["within"], r["key"]): (r["rank"], r["ranked_among"]) for r in rows}
    assert ranks == {
        ("department", "district", "water"): (1, 2),
        ("department", "district", "police"): (2, 2),
        ("street", "district", "liujia"): (1, 2),
        ("street", "district", "wujing"): (2, 2),
        ("department", "liujia", "police"): (1, 1),
        ("department", "wujing", "water"): (1, 2),
        ("department", "wujing", "police"): (2, 2),
    }
    police = next(r for r in rows if r["key"] == "police" and r["within"] == "district")
    assert (police["summonses"], police["resolution_rate"], police["overdue"]) == (2, 0.5, 1)
    assert figure_rows(records, "2026-04", MARCH + timedelta(days=60)) == []  # none summoned in April
