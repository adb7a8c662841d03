"""A whistle's history (吹哨全留痕) on the real databases: its life as an ordered trail, verified sound; one entry
changed behind the triggers' back (or the last ones cut) named by its seq; UPDATE and DELETE refused by the
triggers; and the history visible exactly where the whistle is (another street's secretary: not found)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from kit.context import CallerContext
from kit.errors import ServiceError
from kit.testing import tamper_with_audit_entry
from kit.uow import UnitOfWork
from tests.integration.whistle.conftest import ctx, desk, key
from tests.integration.whistle.test_use_cases import Env, env  # noqa: F401 - the use-case environment fixture
from whistle.app import history, whistles
from whistle.domain.errors import WhistleNotFound

WUJING_C01 = "/gd/wujing/c01/"
LIFE = [
    "whistle.collected", "whistle.blown", "whistle.reported_in", "whistle.reported_in", "whistle.handled",
    "whistle.feedback_given", "whistle.assessed", "whistle.closed",
]  # fmt: skip


def as_ctx(wire: dict) -> CallerContext:
    return CallerContext.from_wire(wire)


RESIDENT = as_ctx(ctx("resident", WUJING_C01, who="history"))
SECRETARY = as_ctx(ctx("community_secretary", WUJING_C01))
STREET = as_ctx(ctx("street_secretary", "/gd/wujing/"))
OTHER_STREET = as_ctx(ctx("street_secretary", "/gd/liujia/"))


@pytest.fixture
def world(env: Env) -> Env:  # noqa: F811 - the imported fixture
    """The use cases' environment (test_use_cases.py): the databases with the departments projection filled."""
    return env


def act(world: Env, caller: CallerContext, fn):
    """A use case run as the caller (the audit trail records who acted)."""
    with UnitOfWork(world.db, service="whistle", clock=world.clock, context=caller) as uow:
        result = fn(uow)
        uow.commit()
        return result


def live(world: Env, resident: CallerContext = RESIDENT, secretary: CallerContext = SECRETARY) -> str:
    """A sewage outfall raised by a resident, from collection to close (ecoenv leads, water assists)."""
    wid = act(world, resident, lambda uow: whistles.create_whistle(uow, resident, {"description": "河边暗管排污"}))[
        "id"
    ]
    steps = [
        (secretary, whistles.blow, {"situation_code": "sewage_outfall"}),
        (as_ctx(desk("water")), whistles.report_in, {}),
        (as_ctx(desk("ecoenv")), whistles.report_in, {}),
        (as_ctx(desk("ecoenv")), whistles.handle, {"result": "已封堵", "evidence": []}),
        (resident, whistles.give_feedback, {"satisfaction": "satisfied"}),
        (secretary, whistles.assess, {"rating": 5}),
        (secretary, whistles.close, {}),
    ]
    for caller, use_case, data in steps:
        act(world, caller, lambda uow, c=caller, u=use_case, d=data: u(uow, c, wid, d))
    return wid


def test_a_whistles_life_is_an_ordered_verified_history(world):
    wid = live(world)
    read = world.run(lambda uow: history.whistle_history(uow, STREET, wid))
    assert read["whistle_id"] == wid
    entries = read["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(LIFE) + 1))
    assert [e["action"] for e in entries] == LIFE
    assert entries[0]["prev_hash"] == "0" * 64
    assert all(e["prev_hash"] == before["hash"] for before, e in pairwise(entries))
    assert entries[0]["actor_role"] == "resident" and entries[2]["actor_role"] == "department"
    assert entries[2]["data"]["department"] == "water" and entries[-1]["data"]["state"] == "closed"
    assert entries[0]["at"].endswith("Z")
    verified = world.run(lambda uow: history.verify_whistle_history(uow, RESIDENT, wid))
    assert verified == {"whistle_id": wid, "entries": 8, "sound": True, "first_broken_seq": None, "reason": None}


def test_a_changed_entry_is_named_by_its_seq(world, whistle_db):
    wid = live(world)
    tamper_with_audit_entry(whistle_db, "whistle", wid, 3)
    verified = world.run(lambda uow: history.verify_whistle_history(uow, SECRETARY, wid))
    assert verified == {"whistle_id": wid, "entries": 8, "sound": False, "first_broken_seq": 3, "reason": "hash"}
    # the history still reads (what is there is shown; the check says where it stops holding)
    assert world.run(lambda uow: history.whistle_history(uow, SECRETARY, wid))["entries"][2]["data"] == {
        "tampered": True
    }


def test_removed_entries_are_named_in_the_middle_and_at_the_end(world, whistle_db):
    wid = live(world)
    tamper_with_audit_entry(whistle_db, "whistle", wid, 8, delete=True)  # the close: no link shows it gone
    verified = world.run(lambda uow: history.verify_whistle_history(uow, SECRETARY, wid))
    assert verified == {"whistle_id": wid, "entries": 7, "sound": False, "first_broken_seq": 8, "reason": "head"}
    tamper_with_audit_entry(whistle_db, "whistle", wid, 5, delete=True)
    verified = world.run(lambda uow: history.verify_whistle_history(uow, SECRETARY, wid))
    assert (verified["first_broken_seq"], verified["reason"]) == (5, "seq")


def test_the_triggers_refuse_update_and_delete(world, whistle_db):
    wid = live(world)
    engine = create_engine(whistle_db)
    try:
        for statement in (
            "UPDATE kit_audit SET data = '{}' WHERE subject_id = :wid AND seq = 2",
            "DELETE FROM kit_audit WHERE subject_id = :wid AND seq = 2",
        ):
            with pytest.raises(DBAPIError), engine.begin() as conn:
                conn.execute(text(statement), {"wid": wid})
    finally:
        engine.dispose()
    assert world.run(lambda uow: history.verify_whistle_history(uow, SECRETARY, wid))["sound"] is True


def test_the_history_is_visible_exactly_where_the_whistle_is(world):
    wid = live(world)
    for caller in (OTHER_STREET, as_ctx(desk("police")), as_ctx(ctx("resident", WUJING_C01, who="someone else"))):
        for use_case in (history.whistle_history, history.verify_whistle_history):
            with pytest.raises(WhistleNotFound):
                world.run(lambda uow, c=caller, u=use_case: u(uow, c, wid))
    for missing in ("00000000-0000-4000-8000-000000000000", "not-an-id"):
        with pytest.raises(WhistleNotFound):
            world.run(lambda uow, m=missing: history.whistle_history(uow, STREET, m))
    assert len(world.run(lambda uow: history.whistle_history(uow, as_ctx(desk("water")), wid))["entries"]) == 8


def test_history_and_its_check_over_rpc(rpc, whistle_db):
    resident = ctx("resident", WUJING_C01, who="rpc history")
    secretary = ctx("community_secretary", WUJING_C01)
    wid = rpc.create_whistle(
        resident, {"description": "楼道堆物堵塞消防通道", "situation_code": "fire_lane_blocked"}, key()
    )["id"]
    rpc.blow(secretary, wid, {}, key())
    read = rpc.whistle_history(secretary, wid)
    assert [e["action"] for e in read["entries"]] == ["whistle.collected", "whistle.blown"]
    assert rpc.verify_whistle_history(resident, wid)["sound"] is True
    tamper_with_audit_entry(whistle_db, "whistle", wid, 1, actor_role="system")
    assert rpc.verify_whistle_history(secretary, wid)["first_broken_seq"] == 1
    with pytest.raises(ServiceError) as raised:
        rpc.whistle_history(ctx("street_secretary", "/gd/liujia/"), wid)
    assert raised.value.code == "WHISTLE_NOT_FOUND"
