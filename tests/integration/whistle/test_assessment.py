"""The monthly assessment (一哨一考核) on the real databases: a month's figures and rankings read live while it
is open, closed once after it ends (however many closers race: two at once on PostgreSQL), stored and published
as `whistle.month_assessed` (one per department and per street), and shown to each role as the rule says."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from kit.context import CallerContext
from kit.errors import ServiceError
from kit.orm import OutboxRow
from kit.testing import wait_for
from kit.uow import UnitOfWork
from tests.integration.whistle.conftest import ctx, desk, key
from tests.integration.whistle.test_history import act, as_ctx, live
from tests.integration.whistle.test_use_cases import Env, env  # noqa: F401 - the use-case environment fixture
from whistle.adapters.orm.assessment import MonthlyFiguresRow
from whistle.app import assessment, whistles
from whistle.domain.errors import NotAllowed

SYSTEM = CallerContext.system()
ADMIN = as_ctx(ctx("district_admin", "/gd/"))
WUJING = as_ctx(ctx("street_secretary", "/gd/wujing/"))
RESIDENT = as_ctx(ctx("resident", "/gd/wujing/c01/", who="assessment"))
SECRETARY = as_ctx(ctx("community_secretary", "/gd/wujing/c01/"))
APRIL = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 April in Asia/Shanghai: March has ended


@pytest.fixture
def town(env: Env) -> Env:  # noqa: F811 - the imported fixture
    """The use cases' environment (test_use_cases.py): the databases with the departments projection filled."""
    return env


def march(town: Env) -> tuple[str, str]:
    """Two sewage outfalls in March: one in 吴井 handled in time and closed satisfied (ecoenv leads, water
    assists); one in 六甲 that water returns and ecoenv never answers."""
    done = live(town, RESIDENT, SECRETARY)
    body = {"description": "沟渠排污", "org_path": "/gd/liujia/c01/", "source": "patrol"}
    late = town.run(lambda uow: whistles.create_whistle(uow, SYSTEM, body))["id"]
    town.run(lambda uow: whistles.blow(uow, SYSTEM, late, {"situation_code": "sewage_outfall"}))
    water = as_ctx(desk("water"))
    act(town, water, lambda uow: whistles.send_back(uow, water, late, {"reason": "属环保"}))
    return done, late


def stats(town: Env, caller: CallerContext, group_by: str = "department", month: str = "2026-03") -> dict:
    return act(town, caller, lambda uow: assessment.whistle_stats(uow, caller, {"month": month, "group_by": group_by}))


def brief(result: dict) -> list[tuple]:
    return [(i["key"], i["rank"], i["ranked_among"], i["summonses"], i["resolution_rate"]) for i in result["items"]]


def published(town: Env) -> list[dict]:
    with town.db.session(write=False) as s:
        query = (
            select(OutboxRow.body)
            .where(OutboxRow.event_type == assessment.EVENT, OutboxRow.exchange == "whistle.events")
            .order_by(OutboxRow.seq)
        )
        return [json.loads(b) for b in s.scalars(query)]


def test_a_month_is_read_live_then_closed_once_and_published(town):
    _, late = march(town)
    live = stats(town, ADMIN)
    assert live["final"] is False and live["closed_at"] is None and live["as_of"] == "2026-03-02T01:00:00Z"
    assert town.run(assessment.close_months) == []  # March has not ended
    town.clock.advance(APRIL - town.clock.now())
    assert town.run(assessment.close_months) == ["2026-03"]
    assert town.run(assessment.close_months) == []  # once

    departments = stats(town, ADMIN)
    assert departments["final"] is True and departments["as_of"] == "2026-03-31T16:00:00Z"
    assert departments["closed_at"] == "2026-03-31T16:30:00Z" and departments["within"] == "district"
    # water: one summons counted (its return apart), in time; ecoenv: one of two, the other overdue
    assert brief(departments) == [("water", 1, 2, 1, 1.0), ("ecoenv", 2, 2, 2, 0.5)]
    water, ecoenv = departments["items"]
    assert water["returned"] == 1 and water["overdue"] == 0 and water["response_rate"] == 1.0
    assert ecoenv["overdue"] == 1 and ecoenv["satisfaction_rate"] == 1.0 and ecoenv["answered"] == 1
    assert ecoenv["average_rating"] == 5.0 and ecoenv["average_report_in_hours"] == 0.0
    assert brief(stats(town, ADMIN, "street")) == [("wujing", 1, 2, 2, 1.0), ("liujia", 2, 2, 1, 0.0)]

    events = published(town)
    assert len(events) == 4
    by_subject = {e["subject"]: e for e in events}
    assert set(by_subject) == {
        "2026-03/department/ecoenv", "2026-03/department/water", "2026-03/street/liujia", "2026-03/street/wujing",
    }  # fmt: skip
    street = by_subject["2026-03/street/wujing"]
    assert street["streetcode"] == "wujing" and street["orgpath"] == "/gd/wujing/"
    assert (
        street["data"]
        == {"month": "2026-03", "group_by": "street", "as_of": "2026-03-31T16:00:00Z"}
        | stats(town, ADMIN, "street")["items"][0]
    )
    department = by_subject["2026-03/department/ecoenv"]
    assert department["streetcode"] == "district" and department["orgpath"] == "/departments/ecoenv/"
    assert department["data"]["rank"] == 2 and department["data"]["overdue"] == 1
    with town.db.session(write=False) as s:  # the department's copy goes to its queue
        keys = set(s.scalars(select(OutboxRow.routing_key).where(OutboxRow.exchange == "departments")))
    assert {"ecoenv.whistle.month_assessed", "water.whistle.month_assessed"} <= keys

    # the closed month is what scoring got: a late report-in no longer moves it
    ecoenv_desk = as_ctx(desk("ecoenv"))
    act(town, ecoenv_desk, lambda uow: whistles.report_in(uow, ecoenv_desk, late, {}))
    assert stats(town, ADMIN) == departments


def test_each_role_sees_the_figures_the_rule_gives_it(town):
    march(town)
    town.clock.advance(APRIL - town.clock.now())
    for closed in (False, True):  # live and stored figures obey the same rule
        if closed:
            town.run(assessment.close_months)
        assert brief(stats(town, WUJING, "street")) == [("wujing", 1, 2, 2, 1.0)]  # its street among the streets
        within = stats(town, WUJING)  # the departments on its street's whistles
        assert within["within"] == "wujing" and brief(within) == [("ecoenv", 1, 2, 1, 1.0), ("water", 1, 2, 1, 1.0)]
        ecoenv = as_ctx(desk("ecoenv"))
        assert brief(stats(town, ecoenv)) == [("ecoenv", 2, 2, 2, 0.5)]  # its own row, ranked in the district
        assert stats(town, as_ctx(desk("police")))["items"] == []  # not summoned that month
        for caller, group_by in (
            (ecoenv, "street"),
            (RESIDENT, "department"),
            (SECRETARY, "department"),
            (as_ctx(ctx("member", "/gd/wujing/c01/")), "street"),
        ):
            with pytest.raises(NotAllowed):
                stats(town, caller, group_by)
    assert stats(town, ADMIN, month="2026-05")["items"] == []  # a month to come: nothing yet, not final
    with town.db.session(write=False) as s:
        stored = s.scalar(select(func.count()).select_from(MonthlyFiguresRow))
    assert stored == 2 + 2 + 2 + 2  # district departments and streets, each street's two (a return counts apart)


# PostgreSQL only, by design: SQLite serialises writers, so there is no race to show there.
@pytest.mark.parametrize("database_kind", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_closers_at_once_close_the_month_once(town):
    assert town.db.is_postgres
    march(town)
    town.clock.advance(APRIL - town.clock.now())
    first = UnitOfWork(town.db, service="whistle", clock=town.clock, context=SYSTEM)
    outcome: list[list[str]] = []
    with first as uow:
        assert assessment.close_months(uow) == ["2026-03"]  # claimed, not committed yet
        second = threading.Thread(target=lambda: outcome.append(town.run(assessment.close_months)))
        second.start()
        time.sleep(0.5)
        assert second.is_alive() and not outcome  # its claim waits on the first's row
        uow.commit()
    second.join(timeout=10)
    assert outcome == [[]]
    assert len(published(town)) == 4


def test_the_figures_over_rpc_and_a_restart_after_the_month_closes_it(events, rpc, start_whistle, clock):
    admin, secretary = ctx("district_admin", "/gd/"), ctx("community_secretary", "/gd/wujing/c01/")
    wid = rpc.create_whistle(secretary, {"description": "河边暗管排污", "situation_code": "sewage_outfall"}, key())[
        "id"
    ]
    rpc.blow(secretary, wid, {}, key())
    rpc.report_in(desk("water"), wid, {}, key())
    live = rpc.whistle_stats(admin, {"month": "2026-03"})
    assert live["final"] is False and [(i["key"], i["rank"]) for i in live["items"]] == [("water", 1), ("ecoenv", 2)]
    assert [i["key"] for i in rpc.whistle_stats(desk("water"), {"month": "2026-03"})["items"]] == ["water"]
    for query in ({"month": "1899-12"}, {"month": "2026-13"}, {"month": "2026-03", "group_by": "community"}, {}):
        with pytest.raises(ServiceError) as raised:
            rpc.whistle_stats(admin, query)
        assert raised.value.code == "VALIDATION_FAILED"
    with pytest.raises(ServiceError) as raised:
        rpc.whistle_stats(ctx("resident", "/gd/wujing/c01/"), {"month": "2026-03", "group_by": "street"})
    assert raised.value.code == "WHISTLE_FORBIDDEN"

    start_whistle.containers[0].kill()  # type: ignore[attr-defined]
    clock.advance(APRIL - clock.now())
    start_whistle()  # eager: the restarted service closes March at once

    def assessed() -> list[str]:
        return sorted(e["subject"] for e in events.drain() if e["type"] == assessment.EVENT)

    wait_for(lambda: len(assessed()) >= 3, timeout=20, what="the month's events")
    assert assessed() == [
        "2026-03/department/ecoenv", "2026-03/department/water", "2026-03/street/wujing",
    ]  # fmt: skip
    closed = rpc.whistle_stats(admin, {"month": "2026-03", "group_by": "street"})
    assert closed["final"] is True and closed["items"][0]["key"] == "wujing"
