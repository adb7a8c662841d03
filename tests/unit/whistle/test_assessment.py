"""One whistle, one assessment: the monthly rates, averages and overdue counts, and the ranking with ties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.whistle.builders import CAL, blown
from whistle.domain.assessment import Figures, Record, Satisfaction, monthly_figures, ranked

SUMMONED = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
AS_OF = datetime(2026, 4, 5, tzinfo=UTC)


def record(department: str = "water", street: str = "wujing", **changes: object) -> Record:
    fields: dict[str, object] = {
        "whistle_id": "w",
        "department": department,
        "street_code": street,
        "summoned_at": SUMMONED,
        "report_in_due": SUMMONED + timedelta(hours=4),
        "resolution_due": SUMMONED + timedelta(days=7),
        "reported_in_at": SUMMONED + timedelta(hours=1),
        "handled_at": SUMMONED + timedelta(days=2),
        **changes,
    }
    return Record(**fields)  # type: ignore[arg-type]


H = timedelta(hours=1)
RECORDS = [
    record(satisfaction=Satisfaction.SATISFIED, rating=5),
    record(reported_in_at=SUMMONED + 3 * H, satisfaction=Satisfaction.BASICALLY, rating=4),
    record("cityman", "liujia", reported_in_at=SUMMONED + 5 * H, satisfaction=Satisfaction.NOT),  # late report-in
    record("cityman", "liujia", reported_in_at=None, handled_at=None),  # never answered: overdue
    record("cityman", "liujia", returned=True, reported_in_at=None, handled_at=None),
    record("cityman", summoned_at=datetime(2026, 2, 28, 17, tzinfo=UTC)),  # 1 March in Shanghai: counted in March
    record("water", summoned_at=datetime(2026, 3, 31, 17, tzinfo=UTC)),  # 1 April in Shanghai: not March
]


def figures(group_by: str = "department") -> dict[str, Figures]:
    return {f.key: f for f in monthly_figures(RECORDS, "2026-03", AS_OF, group_by=group_by)}


def test_the_rates_of_a_department():
    water = figures()["water"]
    assert (water.summonses, water.returned, water.overdue) == (2, 0, 0)
    assert (water.response_rate, water.resolution_rate, water.satisfaction_rate) == (1.0, 1.0, 1.0)
    assert water.average_report_in_hours == 2.0 and water.average_resolution_hours == 48.0
    assert water.average_rating == 4.5


def test_late_unanswered_and_returned_summonses():
    cityman = figures()["cityman"]
    assert (cityman.summonses, cityman.returned, cityman.answered) == (3, 1, 1)
    assert cityman.response_rate == pytest.approx(1 / 3)  # only the 1 March one reported in on time
    assert cityman.resolution_rate == pytest.approx(2 / 3)
    assert cityman.satisfaction_rate == 0.0
    assert cityman.overdue == 2  # the late report-in and the one never answered
    assert cityman.average_rating is None


def test_figures_by_street():
    streets = figures("street")
    assert set(streets) == {"wujing", "liujia"}
    assert streets["wujing"].summonses == 3 and streets["liujia"].summonses == 2


def test_only_what_had_happened_by_as_of_counts():
    early = monthly_figures(RECORDS[:1], "2026-03", SUMMONED + 2 * H)[0]
    assert early.response_rate == 1.0 and early.resolution_rate == 0.0  # not yet handled, not yet late
    assert early.overdue == 0 and early.average_resolution_hours is None
    late = monthly_figures(RECORDS[:1], "2026-03", SUMMONED + timedelta(days=1))[0]
    assert late.resolution_rate == 0.0 and late.overdue == 0
    # before the 10 March summonses, only the one of 1 March had happened
    assert [f.key for f in monthly_figures(RECORDS, "2026-03", SUMMONED - H)] == ["cityman"]


def test_a_paused_clock_is_never_overdue():
    paused = record(report_in_due=None, resolution_due=None, reported_in_at=None, handled_at=None)
    [f] = monthly_figures([paused], "2026-03", AS_OF)
    assert f.overdue == 0 and f.response_rate == 0.0


def test_an_unknown_grouping_is_refused():
    with pytest.raises(ValueError, match="group_by"):
        monthly_figures(RECORDS, "2026-03", AS_OF, group_by="moon")


def figure(key: str, resolution: float | None, response: float | None = 1.0, overdue: int = 0) -> Figures:
    return Figures(key, "2026-03", 1, 0, response, resolution, 1.0, 1, None, None, None, overdue)


def test_ranking_shares_ranks_on_ties_and_lists_them_by_key():
    ranks = ranked([figure("b", 0.9), figure("a", 0.9), figure("c", 1.0), figure("d", None), figure("e", 0.9, 0.5)])
    assert [(rank, f.key) for rank, f in ranks] == [(1, "c"), (2, "a"), (2, "b"), (4, "e"), (5, "d")]


def test_fewer_overdue_breaks_a_tie():
    ranks = ranked([figure("a", 0.9, overdue=3), figure("b", 0.9, overdue=1)])
    assert [(rank, f.key) for rank, f in ranks] == [(1, "b"), (2, "a")]


def test_a_whistles_records_feed_the_figures():
    w = blown()  # water reported in after 10 minutes
    w.handle("water", result="已疏通", at=w.departments["water"].summoned_at + timedelta(hours=5))
    w.give_feedback("satisfied", at=w.handled_at + H)  # type: ignore[operator]
    records = w.records(CAL)
    assert [r.department for r in records] == ["cityman", "police", "water"]
    by_department = {f.key: f for f in monthly_figures(records, "2026-03", AS_OF)}
    assert by_department["water"].response_rate == 1.0 and by_department["water"].satisfaction_rate == 1.0
    assert by_department["police"].response_rate == 0.0 and by_department["police"].overdue == 1
