"""The pure mappings around the whistle aggregate: its JSON document (stored beside the queryable columns)
rebuilds it exactly in every state; the clock rows the timer claims say when to look next and what each
clock's status is; facts go on the wire with ISO times; the departments projection knows a department by
its path."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.unit.whistle.builders import CAL, T0, V1, act, at, blown, in_state
from whistle.adapters.repositories.whistles import clock_rows, whistle_document, whistle_from_document
from whistle.app.departments import _department_code
from whistle.app.whistles import wire
from whistle.domain.calendar import Limit, Unit
from whistle.domain.duplicates import Point
from whistle.domain.errors import NotAllowed
from whistle.domain.lifecycle import Action, State
from whistle.domain.roles import MAY, check_may


def round_trip(w):
    return whistle_from_document(json.loads(json.dumps(whistle_document(w))))


@pytest.mark.parametrize("state", list(State))
def test_the_document_rebuilds_the_aggregate_in_every_state(state):
    w = in_state(state)
    assert round_trip(w) == w


def test_pauses_extensions_milestones_and_a_place_survive_the_document():
    w = blown()
    w.location = Point(102.722, 25.04)
    w.request_extension("water", limit=Limit(2, Unit.WORKING_DAYS), reason="需要开挖", at=at(20))
    w.approve_extension("water", CAL, at=at(25))
    w.check(at(250), CAL)  # past 4 hours: announces cityman's and police's overdue report-in
    act(w, Action.PAUSE)
    rebuilt = round_trip(w)
    assert rebuilt == w
    assert rebuilt.departments["water"].resolution.extensions == (Limit(2, Unit.WORKING_DAYS),)
    assert "report_in:overdue" in rebuilt.departments["police"].announced
    assert rebuilt.next_check_at(CAL) is None  # paused: nothing to look at


def test_clock_rows_say_when_to_look_next_and_how_each_clock_stands():
    w = blown()  # water reported in at 10 minutes; cityman and police are summoned (4 hours to report in)
    rows = {(r["department_code"], r["stage"]): r for r in clock_rows(w, CAL)}
    assert rows[("water", "report_in")]["status"] == "met" and rows[("water", "report_in")]["next_check_at"] is None
    police = rows[("police", "report_in")]
    assert police["status"] == "running" and police["next_check_at"] == T0 + timedelta(hours=2)  # 50%
    assert police["due_at"] == T0 + timedelta(hours=4)
    assert min(r["next_check_at"] for r in rows.values() if r["next_check_at"]) == w.next_check_at(CAL)

    w.check(T0 + timedelta(hours=4), CAL)
    rows = {(r["department_code"], r["stage"]): r for r in clock_rows(w, CAL)}
    assert rows[("police", "report_in")]["status"] == "overdue"
    assert rows[("police", "report_in")]["next_check_at"] == T0 + timedelta(hours=8)  # the district's turn

    w.report_in("police", CAL, at=T0 + timedelta(hours=5))
    assert {r["status"] for r in clock_rows(w, CAL) if r["department_code"] == "police"} == {"missed", "running"}
    act(w, Action.PAUSE)
    assert {r["status"] for r in clock_rows(w, CAL) if r["stage"] == "resolution"} == {"paused"}
    assert all(r["next_check_at"] is None for r in clock_rows(w, CAL))


def test_facts_go_on_the_wire_with_iso_times_at_any_depth():
    facts = in_state(State.COLLECTED).blow(V1, CAL, at=T0)
    data = wire(facts[0].data)
    json.dumps(data)  # nothing left that JSON cannot hold
    assert data["deadlines"]["water"]["report_in_due"] == "2026-03-02T05:00:00Z"
    assert wire({"t": (T0,)}) == {"t": ["2026-03-02T01:00:00Z"]}


def test_a_department_is_a_child_of_the_departments_root():
    assert _department_code("/departments/water/") == "water"
    assert _department_code("/departments/") is None
    assert _department_code("/gd/water/") is None
    assert _department_code("/departments/water/desk/") is None


def test_roles_are_checked_per_action():
    check_may("community_secretary", "blow")
    check_may("department", "report_in")
    for role, action in (("resident", "blow"), ("department", "close"), ("street_secretary", "handle"),
                         ("community_secretary", "publish_catalogue"), ("anonymous", "create")):  # fmt: skip
        with pytest.raises(NotAllowed):
            check_may(role, action)
    assert all(
        "system" in roles
        for action, roles in MAY.items()
        if action not in ("report_in", "send_back", "handle", "request_extension")
    )
