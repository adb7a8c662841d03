"""The four lists' rules: the status machine, optimistic versions, the overdue rule cut in Asia/Shanghai."""

from datetime import UTC, date, datetime, timedelta

import pytest

from organization.domain.four_lists import (
    TRANSITIONS,
    FourListItem,
    InvalidTransition,
    ItemCreated,
    ItemFinal,
    ItemUpdated,
    ItemWentOverdue,
    ListKind,
    NodeKeepsNoLists,
    Note,
    StaleItem,
    Status,
    due_at_for,
)

NOW = datetime(2026, 5, 10, 2, 0, tzinfo=UTC)


def item(level: str = "community", due: date = date(2026, 5, 20)) -> FourListItem:
    return FourListItem.create(
        id="i1",
        org_id="o1",
        org_path="/gd/liujia/c01/",
        org_level=level,
        street_code="liujia",
        kind=ListKind.PROBLEM,
        title="河道垃圾",
        description="",
        owner_account_id="a1",
        due_date=due,
        created_by="a1",
        now=NOW,
    )


def test_creating_records_the_event_and_starts_open():
    it = item()
    assert it.status is Status.OPEN and it.version == 1
    assert [type(e) for e in it.events] == [ItemCreated]


@pytest.mark.parametrize("level", ["branch", "area", "department", "building"])
def test_only_district_street_and_community_nodes_keep_lists(level):
    with pytest.raises(NodeKeepsNoLists):
        item(level)


@pytest.mark.parametrize("start", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_every_move_follows_the_transition_table(start, target):
    it = item()
    it.status = start
    if target in TRANSITIONS[start]:
        it.move_to(target, expected_version=1, now=NOW)
        assert it.status is target and it.version == 2
        assert isinstance(it.events[-1], ItemUpdated)
    else:
        with pytest.raises(InvalidTransition):
            it.move_to(target, expected_version=1, now=NOW)
        assert it.status is start and it.version == 1


def test_done_and_cancelled_are_final_and_stamp_their_time():
    it = item()
    it.move_to(Status.IN_PROGRESS, expected_version=1, now=NOW)
    it.move_to(Status.DONE, expected_version=2, now=NOW + timedelta(hours=1))
    assert it.started_at == NOW and it.done_at == NOW + timedelta(hours=1)
    assert TRANSITIONS[Status.DONE] == TRANSITIONS[Status.CANCELLED] == frozenset()
    with pytest.raises(ItemFinal):
        it.edit({"title": "x"}, expected_version=3, now=NOW)


def test_a_stale_version_is_refused():
    it = item()
    with pytest.raises(StaleItem):
        it.move_to(Status.IN_PROGRESS, expected_version=2, now=NOW)
    with pytest.raises(StaleItem):
        it.edit({"title": "new"}, expected_version=7, now=NOW)


def test_editing_records_only_what_changed():
    it = item()
    it.events.clear()
    it.edit({"title": "河道垃圾", "description": "新增说明"}, expected_version=1, now=NOW)
    assert it.events[-1].changes == {"description": "新增说明"}  # type: ignore[union-attr]
    it.edit({"description": "新增说明"}, expected_version=2, now=NOW)  # no change: no event, no new version
    assert it.version == 2 and len(it.events) == 1


def test_a_note_is_an_update_without_a_version():
    it = item()
    it.note_added(Note("n1", "a1", "已联系河长", NOW))
    assert it.version == 2 and it.events[-1].changes == {"note_id": "n1"}  # type: ignore[union-attr]


def test_the_due_day_ends_at_midnight_in_shanghai():
    assert due_at_for(date(2026, 5, 20)) == datetime(2026, 5, 20, 16, 0, tzinfo=UTC)


def test_an_item_goes_overdue_once_after_its_due_day():
    it = item(due=date(2026, 5, 20))
    end_of_day = datetime(2026, 5, 20, 16, 0, tzinfo=UTC)
    assert not it.mark_overdue(end_of_day - timedelta(seconds=1))
    assert it.mark_overdue(end_of_day)
    assert not it.mark_overdue(end_of_day + timedelta(days=1))  # already flagged
    assert [type(e) for e in it.events].count(ItemWentOverdue) == 1
    assert it.overdue_at == end_of_day


@pytest.mark.parametrize("final", [Status.DONE, Status.CANCELLED])
def test_a_final_item_never_goes_overdue(final):
    it = item(due=date(2026, 5, 1))
    it.status = final
    assert not it.is_overdue(NOW) and not it.mark_overdue(NOW)


def test_a_new_due_date_clears_the_overdue_flag():
    it = item(due=date(2026, 5, 1))
    assert it.mark_overdue(NOW)
    it.edit({"due_date": date(2026, 6, 1)}, expected_version=1, now=NOW)
    assert it.overdue_at is None
