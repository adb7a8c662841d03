"""Department systems' commands at high gear: an extension asked as an instant becomes whole hours on top of the
resolution's due instant, with the aggregate's checks first, and each command's data contract."""

from __future__ import annotations

from datetime import timedelta

import pytest
from marshmallow import ValidationError

from tests.unit.whistle.builders import CAL, T0, at, blown
from whistle.domain.calendar import Deadline, Limit, Unit
from whistle.domain.errors import InvalidTransition, NotSummoned, WhistleError
from whistle.schemas.commands import COMMAND_SCHEMAS

WID = "0b6f6f4e-8d2c-4c1e-9a57-3f0d2b1c9e11"


def test_an_extension_until_an_instant_is_the_whole_hours_past_the_due_instant():
    deadline = Deadline(start=T0, limit=Limit(1, Unit.WORKING_DAYS))
    due = deadline.due_at(CAL)
    assert due is not None
    assert deadline.extension_until(due + timedelta(hours=5), CAL) == Limit(5, Unit.HOURS)
    assert deadline.extension_until(due + timedelta(hours=5, minutes=1), CAL) == Limit(6, Unit.HOURS)
    with pytest.raises(WhistleError) as raised:
        deadline.extension_until(due, CAL)
    assert raised.value.errors == {"requested_due_at": [f"after {due.isoformat()}"]}
    with pytest.raises(InvalidTransition):
        deadline.paused(T0).extension_until(due + timedelta(hours=1), CAL)


def test_an_extension_request_until_an_instant_is_checked_as_one_for_a_limit():
    w = blown()  # water leads and has reported in
    due = w.departments["water"].resolution.due_at(CAL)
    assert due is not None
    [fact] = w.request_extension_until("water", due + timedelta(days=1), CAL, reason="等配件", at=at(20))
    assert fact.data["limit"] == {"amount": 24, "unit": "hours"}
    assert w.departments["water"].extension_requested == Limit(24, Unit.HOURS)
    with pytest.raises(InvalidTransition):  # one pending at a time
        w.request_extension_until("water", due + timedelta(days=2), CAL, reason="再等", at=at(30))
    with pytest.raises(InvalidTransition):  # cityman has not reported in: its stage comes before the instant
        w.request_extension_until("cityman", due, CAL, reason="等", at=at(30))
    with pytest.raises(NotSummoned):
        w.request_extension_until("gas", due, CAL, reason="等", at=at(30))


def test_each_commands_data_has_its_contract():
    load = {kind: schema().load for kind, schema in COMMAND_SCHEMAS.items()}
    assert load["department.report_in"]({"whistle_id": WID}) == {"whistle_id": WID, "note": ""}
    assert load["department.result"]({"whistle_id": WID, "summary": "已封堵"})["evidence"] == []
    asked = load["department.extension_request"]({"whistle_id": WID, "requested_due_at": "2026-03-09T10:00:00Z",
                                                   "reason": "等配件"})  # fmt: skip
    assert asked["requested_due_at"].utcoffset() == timedelta(0)
    for kind, data in (
        ("department.report_in", {"whistle_id": "w1"}),
        ("department.report_in", {"whistle_id": WID, "extra": 1}),
        ("department.return", {"whistle_id": WID, "reason": ""}),
        ("department.result", {"whistle_id": WID, "summary": "x", "evidence": ["x"] * 21}),
        ("department.extension_request", {"whistle_id": WID, "requested_due_at": "2026-03-09T10:00:00", "reason": "x"}),
    ):
        with pytest.raises(ValidationError):
            load[kind](data)
