"""A whistle's life through the whistle service's RPC on real RabbitMQ and real databases: every move, the
events on the broker (and the departments' exchange), illegal moves refused with nothing changed, scope, and
the deadline timer with a fixed clock advanced, across a restart on the same database."""

from __future__ import annotations

from datetime import timedelta

import eventlet
import pytest
from sqlalchemy import func, select

from kit.db import Database
from kit.errors import ServiceError
from kit.orm import AuditEntry, OutboxRow
from kit.testing import wait_for
from tests.integration.whistle.conftest import ctx, desk, key
from whistle.adapters.gauges import COLLECTOR

WUJING_C01 = "/gd/wujing/c01/"
RESIDENT = ctx("resident", WUJING_C01, who="张阿姨")
SECRETARY = ctx("community_secretary", WUJING_C01)


def raises(code: str, call, *args):
    with pytest.raises(ServiceError) as raised:
        call(*args)
    assert raised.value.code == code, raised.value
    return raised.value


def by_type(bodies: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for body in bodies:
        grouped.setdefault(body["type"], []).append(body)
    return grouped


def test_a_whistle_lives_from_collection_to_close_and_tells_the_broker(events, department_events, rpc, whistle_db):
    raised = rpc.create_whistle(
        RESIDENT,
        {"description": "河边有暗管往河里排污水", "title": "排污口", "situation_code": "sewage_outfall",
         "location": {"type": "Point", "coordinates": [102.722, 25.04]}},
        key(),
    )  # fmt: skip
    assert raised["state"] == "collected" and raised["source"] == "resident"
    assert raised["org_path"] == WUJING_C01 and raised["street_code"] == "wujing"
    wid = raised["id"]

    blown = rpc.blow(SECRETARY, wid, {}, key())
    assert blown["state"] == "blown" and blown["kind"] == "problem" and blown["catalogue_version"] == 1
    assert blown["lead"] == "ecoenv"
    assert {(d["code"], d["role"]) for d in blown["departments"]} == {("ecoenv", "lead"), ("water", "assisting")}
    assert {(d["department"], d["stage"], d["status"]) for d in blown["deadlines"]} == {
        ("ecoenv", "report_in", "running"),
        ("ecoenv", "resolution", "running"),
        ("water", "report_in", "running"),
        ("water", "resolution", "running"),
    }

    rpc.report_in(desk("water"), wid, {}, key())
    rpc.report_in(desk("ecoenv"), wid, {}, key())
    handled = rpc.handle(desk("ecoenv"), wid, {"result": "已封堵暗管并立案查处", "evidence": ["现场勘查记录"]}, key())
    assert handled["state"] == "handled"
    assert {d["code"]: d["stage"] for d in handled["departments"]} == {"ecoenv": "handled", "water": "handled"}
    assert rpc.give_feedback(RESIDENT, wid, {"satisfaction": "satisfied"}, key())["state"] == "feedback"
    assert rpc.assess(SECRETARY, wid, {"rating": 5, "comment": "响应迅速"}, key())["state"] == "assessed"
    closing = key()
    closed = rpc.close(SECRETARY, wid, {}, closing)
    assert closed["state"] == "closed" and closed["satisfaction"] == "satisfied" and closed["rating"] == 5
    assert rpc.close(SECRETARY, wid, {}, closing) == closed  # the same key: the same answer, nothing twice
    assert rpc.get_whistle(RESIDENT, wid) == closed

    types = [
        "whistle.collected", "whistle.blown", "whistle.reported_in", "whistle.reported_in", "whistle.handled",
        "whistle.feedback_given", "whistle.assessed", "whistle.closed",
    ]  # fmt: skip
    seen = by_type(events.wait_for_count(len(types)))
    assert sorted(t for t, bodies in seen.items() for _ in bodies) == sorted(types)
    blown_event = seen["whistle.blown"][0]
    assert blown_event["subject"] == wid and blown_event["streetcode"] == "wujing"
    assert blown_event["orgpath"] == WUJING_C01 and blown_event["source"] == "/guandu/whistle"
    data = blown_event["data"]
    assert data["kind"] == "problem" and data["situation_code"] == "sewage_outfall"
    assert data["lead"] == "ecoenv" and data["assisting"] == ["water"]
    assert data["raiser_account_id"] == RESIDENT["account_id"]
    assert set(data["deadlines"]) == {"ecoenv", "water"} and data["deadlines"]["water"]["report_in_due"].endswith("Z")
    closed_event = seen["whistle.closed"][0]["data"]
    assert closed_event["satisfaction"] == "satisfied" and closed_event["rating"] == 5
    assert closed_event["timeliness"]["ecoenv"]["report_in_on_time"] is True
    assert closed_event["timeliness"]["water"]["resolution_on_time"] is True

    # a copy of each fact for a department goes to the departments' exchange as <code>.<type>
    keys = {(b["type"], b["subject"]) for b in department_events.wait_for_count(1)}
    assert ("whistle.blown", wid) in keys
    db = Database(whistle_db)
    try:
        with db.session(write=False) as s:
            routing = set(s.scalars(select(OutboxRow.routing_key).where(OutboxRow.exchange == "departments")))
            audited = list(s.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == wid)))
    finally:
        db.dispose()
    assert {"ecoenv.whistle.blown", "water.whistle.blown", "water.whistle.reported_in"} <= routing
    assert audited == types  # every change in the trail, in order


def test_an_illegal_move_is_409_and_changes_nothing(rpc, whistle_db):
    wid = rpc.create_whistle(RESIDENT, {"description": "楼道灯坏了"}, key())["id"]
    before = rpc.get_whistle(SECRETARY, wid)
    db = Database(whistle_db)

    def written() -> tuple[int, int]:
        with db.session(write=False) as s:
            return s.scalar(select(func.count()).select_from(OutboxRow)), s.scalar(
                select(func.count()).select_from(AuditEntry)
            )

    try:
        counts = written()
        raises("WHISTLE_INVALID_TRANSITION", rpc.close, SECRETARY, wid, {}, key())
        raises("WHISTLE_INVALID_TRANSITION", rpc.assess, SECRETARY, wid, {"rating": 3}, key())
        raises("WHISTLE_UNKNOWN_SITUATION", rpc.blow, SECRETARY, wid, {}, key())  # none given, none known
        raises("WHISTLE_UNKNOWN_DEPARTMENT", rpc.blow, SECRETARY, wid, {"situation_code": "noise_nuisance",
               "lead": "nosuch"}, key())  # fmt: skip
        raises("WHISTLE_FORBIDDEN", rpc.blow, RESIDENT, wid, {"situation_code": "noise_nuisance"}, key())
        raises("VALIDATION_FAILED", rpc.assess, SECRETARY, wid, {"rating": 9}, key())
        assert rpc.get_whistle(SECRETARY, wid) == before
        assert written() == counts
        rpc.blow(SECRETARY, wid, {"situation_code": "noise_nuisance"}, key())
        raises("WHISTLE_INVALID_TRANSITION", rpc.blow, SECRETARY, wid, {"situation_code": "noise_nuisance"}, key())
    finally:
        db.dispose()


def test_out_of_scope_is_not_found_and_only_the_summoned_act(rpc):
    wid = rpc.create_whistle(
        RESIDENT, {"description": "小区消防通道被车堵了", "situation_code": "fire_lane_blocked"}, key()
    )["id"]
    other_street = ctx("street_secretary", "/gd/taihe/")
    other_community = ctx("community_secretary", "/gd/wujing/c02/")
    neighbour = ctx("resident", WUJING_C01, who="李叔")
    for caller in (other_street, other_community, neighbour, desk("fire")):  # fire is not summoned yet
        raises("WHISTLE_NOT_FOUND", rpc.get_whistle, caller, wid)
    raises("WHISTLE_NOT_FOUND", rpc.blow, other_street, wid, {}, key())
    raises("WHISTLE_NOT_FOUND", rpc.get_whistle, SECRETARY, "not-a-uuid")
    street = ctx("street_secretary", "/gd/wujing/")
    raises(
        "WHISTLE_PLACE_NOT_FOUND", rpc.create_whistle, street, {"description": "x", "org_path": "/gd/taihe/c01/"}, key()
    )

    raises(
        "WHISTLE_PLACE_NOT_FOUND",
        rpc.create_whistle,
        RESIDENT,
        {"description": "x", "org_path": "/gd/wujing/c02/"},
        key(),
    )
    raises("WHISTLE_INVALID", rpc.create_whistle, RESIDENT, {"description": "x", "source": "patrol"}, key())
    patrol = rpc.create_whistle(
        street, {"description": "巡河发现漂浮物", "org_path": WUJING_C01, "source": "patrol"}, key()
    )
    assert patrol["source"] == "patrol" and patrol["raiser_account_id"] == street["account_id"]

    rpc.blow(street, wid, {"lead": "fire", "assisting": ["police"]}, key())
    raises("WHISTLE_NOT_FOUND", rpc.report_in, desk("cityman"), wid, {}, key())  # not summoned: not theirs to see
    rpc.report_in(desk("police"), wid, {}, key())
    raises("WHISTLE_NOT_LEAD", rpc.handle, desk("police"), wid, {"result": "已挪车"}, key())
    raises("WHISTLE_FORBIDDEN", rpc.handle, SECRETARY, wid, {"result": "已挪车"}, key())

    mine = lambda caller, **q: [w["id"] for w in rpc.list_whistles(caller, q)["items"]]  # noqa: E731
    assert mine(desk("police")) == [wid] and mine(desk("cityman")) == []
    assert mine(SECRETARY, state="blown") == [wid] and mine(SECRETARY, state="closed") == []
    assert mine(street, department="fire", kind="problem") == [wid] and mine(other_street) == []
    assert mine(neighbour) == [] and mine(RESIDENT) == [wid]
    assert mine(SECRETARY, overdue=True) == []


def test_the_list_pages_newest_first(rpc, clock):
    made = []
    for n in range(3):
        made.append(rpc.create_whistle(RESIDENT, {"description": f"第{n}件"}, key())["id"])
        clock.advance(timedelta(seconds=1))
    first = rpc.list_whistles(RESIDENT, {"limit": 2})
    second = rpc.list_whistles(RESIDENT, {"limit": 2, "cursor": first["next_cursor"]})
    assert [w["id"] for w in first["items"] + second["items"]] == made[::-1] and second["next_cursor"] is None


def test_an_unanswered_emergency_is_reminded_then_escalated_once_each_across_a_restart(
    events, rpc, start_whistle, clock, whistle_db
):
    wid = rpc.create_whistle(SECRETARY, {"description": "整栋楼停电，有老人用制氧机"}, key())["id"]
    rpc.blow(SECRETARY, wid, {"situation_code": "power_outage", "assisting": []}, key())  # report in within 1 hour
    events.wait_for_count(2)

    def announced(kind: str) -> list[dict]:
        return [e["data"] for e in events.drain() if e["type"] == kind]

    clock.advance(timedelta(minutes=31))  # past 50% of the report-in hour
    events.wait_for_count(3)
    assert [(r["clock"], r["percent"], r["department"]) for r in announced("whistle.reminded")] == [
        ("report_in", 50, "power")
    ]

    # a new container on the same database (the first one killed), then past the hour
    first = next(c for c in rpc_containers(start_whistle))
    first.kill()
    clock.advance(timedelta(minutes=30))
    start_whistle()
    events.wait_for_count(5)
    assert [(e["clock"], e["department"]) for e in announced("whistle.overdue")] == [("report_in", "power")]
    assert [(e["clock"], e["level"]) for e in announced("whistle.escalated")] == [("report_in", "street")]
    eventlet.sleep(1.0)  # ten more scans: nothing is announced twice
    assert len(announced("whistle.reminded")) == 1 and len(announced("whistle.escalated")) == 1
    assert rpc.get_whistle(SECRETARY, wid)["overdue"] is True
    assert [w["id"] for w in rpc.list_whistles(SECRETARY, {"overdue": True})["items"]] == [wid]
    gauges = {m.name: {tuple(x.labels.values()): x.value for x in m.samples} for m in COLLECTOR.collect()}
    assert gauges["guandu_whistles_overdue"] == {("wujing",): 1}
    assert gauges["guandu_whistles_open"] == {("blown", "wujing"): 1}

    clock.advance(timedelta(hours=1))  # overdue as long again as it was allowed: the district hears of it
    events.wait_for_count(6)
    assert [(e["clock"], e["level"]) for e in announced("whistle.escalated")] == [
        ("report_in", "street"),
        ("report_in", "district"),
    ]
    rpc.report_in(desk("power"), wid, {}, key())
    late = next(d for d in rpc.get_whistle(SECRETARY, wid)["deadlines"] if d["stage"] == "report_in")
    assert late["status"] == "missed"


def rpc_containers(start_whistle):
    return start_whistle.containers  # type: ignore[attr-defined]


def test_a_return_is_redispatched_and_an_unsatisfied_requester_reopens_it(events, rpc):
    wid = rpc.create_whistle(RESIDENT, {"description": "楼下餐馆油烟熏人", "situation_code": "cooking_fumes"}, key())[
        "id"
    ]
    blown = rpc.blow(SECRETARY, wid, {"lead": "market", "assisting": ["ecoenv"]}, key())
    assert blown["lead"] == "market"
    raises("VALIDATION_FAILED", rpc.send_back, desk("market"), wid, {"reason": ""}, key())
    returned = rpc.send_back(desk("market"), wid, {"reason": "油烟属生态环境部门监管"}, key())
    assert returned["state"] == "returned" and returned["lead"] is None
    raises("WHISTLE_INVALID_TRANSITION", rpc.handle, desk("ecoenv"), wid, {"result": "x"}, key())
    again = rpc.redispatch(SECRETARY, wid, {"lead": "ecoenv", "reason": "按职责改派"}, key())
    assert again["state"] == "blown" and again["lead"] == "ecoenv"
    rpc.report_in(desk("ecoenv"), wid, {}, key())
    rpc.handle(desk("ecoenv"), wid, {"result": "责令加装油烟净化器"}, key())
    raises("WHISTLE_NOT_RAISER", rpc.give_feedback, SECRETARY, wid, {"satisfaction": "not"}, key())
    rpc.give_feedback(RESIDENT, wid, {"satisfaction": "not", "comment": "还是有味"}, key())
    reopened = rpc.reopen(RESIDENT, wid, {"reason": "净化器没开"}, key())
    assert reopened["state"] == "reopened" and reopened["reopens"] == 1
    second = rpc.redispatch(SECRETARY, wid, {"lead": "ecoenv", "assisting": ["market"]}, key())
    assert second["round"] == 2 and {d["code"] for d in second["departments"]} == {"ecoenv", "market"}
    rpc.report_in(desk("ecoenv"), wid, {}, key())
    rpc.handle(desk("ecoenv"), wid, {"result": "净化器已运行，复测达标"}, key())
    rpc.give_feedback(RESIDENT, wid, {"satisfaction": "basically"}, key())
    rpc.assess(SECRETARY, wid, {"rating": 4}, key())
    closed = rpc.close(SECRETARY, wid, {}, key())
    assert closed["state"] == "closed" and closed["reopens"] == 1

    seen = by_type(events.wait_for_count(14))
    assert len(seen["whistle.returned"]) == 1 and seen["whistle.returned"][0]["data"]["needs_redispatch"] is True
    assert [e["data"]["round"] for e in seen["whistle.redispatched"]] == [1, 2]
    assert seen["whistle.reopened"][0]["data"]["reopens"] == 1
    assert seen["whistle.closed"][0]["data"]["satisfaction"] == "basically"


def test_a_likely_duplicate_is_found_and_merged_into_the_whistle_it_repeats(events, department_events, rpc, clock):
    """重复诉求: the same blocked drain raised twice, 20 m apart an hour later, is one whistle."""

    def raise_at(who, lon: float, situation: str = "drain_blocked") -> str:
        body = {"description": "小区门口下水道堵了", "situation_code": situation,
                "location": {"type": "Point", "coordinates": [lon, 25.04]}}  # fmt: skip
        return rpc.create_whistle(who, body, key())["id"]

    first = raise_at(RESIDENT, 102.7200)
    rpc.blow(SECRETARY, first, {}, key())
    clock.advance(timedelta(hours=1))
    neighbour = ctx("resident", WUJING_C01, who="李叔")
    again = raise_at(neighbour, 102.7202)  # 20 m east
    rpc.blow(SECRETARY, again, {}, key())
    far = raise_at(neighbour, 102.7210)  # 100 m east: another drain
    other_kind = raise_at(neighbour, 102.7200, "noise_nuisance")
    taihe = ctx("community_secretary", "/gd/taihe/c01/")
    elsewhere = raise_at(taihe, 102.7201)  # 10 m away, but across the street line: not the secretary's

    found = [w["id"] for w in rpc.likely_duplicates(SECRETARY, again)["items"]]
    assert found == [first]  # not the far one, not another situation, not another community's
    assert [w["id"] for w in rpc.likely_duplicates(SECRETARY, first)["items"]] == [again]
    assert rpc.likely_duplicates(SECRETARY, far)["items"] == []
    raises("WHISTLE_FORBIDDEN", rpc.likely_duplicates, RESIDENT, first)
    raises("WHISTLE_NOT_FOUND", rpc.likely_duplicates, taihe, first)

    before = rpc.get_whistle(SECRETARY, far)
    raises("WHISTLE_NOT_DUPLICATE", rpc.merge, SECRETARY, far, {"into": first}, key())
    raises("WHISTLE_NOT_DUPLICATE", rpc.merge, SECRETARY, other_kind, {"into": first}, key())
    raises("WHISTLE_NOT_FOUND", rpc.merge, SECRETARY, again, {"into": elsewhere}, key())  # not in scope
    raises("WHISTLE_FORBIDDEN", rpc.merge, RESIDENT, again, {"into": first}, key())
    raises("WHISTLE_INVALID_TRANSITION", rpc.merge, SECRETARY, first, {"into": first}, key())
    assert rpc.get_whistle(SECRETARY, far) == before

    merged = rpc.merge(SECRETARY, again, {"into": first, "reason": "同一处下水道"}, key())
    assert (merged["state"], merged["merged_into"]) == ("merged", first)
    assert {c["status"] for c in merged["deadlines"]} == {"stopped"}
    raises("WHISTLE_INVALID_TRANSITION", rpc.merge, SECRETARY, again, {"into": first}, key())
    raises("WHISTLE_INVALID_TRANSITION", rpc.merge, SECRETARY, first, {"into": again}, key())  # into a merged one
    assert rpc.likely_duplicates(SECRETARY, first)["items"] == []
    assert rpc.get_whistle(neighbour, again)["merged_into"] == first  # the raiser sees where it went

    merged_events = lambda: [e for e in events.drain() if e["type"] == "whistle.merged"]  # noqa: E731
    wait_for(lambda: merged_events(), what="whistle.merged on the broker")
    [event] = merged_events()
    assert event["subject"] == again and event["data"]["into"] == first and event["data"]["reason"] == "同一处下水道"
    # the departments summoned to the duplicate hear that it stopped
    told = lambda: {b["subject"] for b in department_events.drain() if b["type"] == "whistle.merged"}  # noqa: E731
    wait_for(lambda: again in told(), what="whistle.merged on the departments' exchange")
    joined = rpc.whistle_history(SECRETARY, first)["entries"][-1]
    assert joined["action"] == "whistle.duplicate_joined" and joined["data"]["from"] == again
    assert rpc.verify_whistle_history(SECRETARY, first)["sound"] is True
