"""The use cases on the real databases without a broker: scans racing each other (threads, like replicas)
announce each milestone once, the clock rows say what the list's `overdue` filter reads, and the departments
projection follows organization's events in whatever order they come."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kit.clock import FixedClock, isoformat_z
from kit.context import CallerContext
from kit.db import Database
from kit.demo_tree import departments
from kit.orm import OutboxRow
from kit.uow import UnitOfWork
from tests.integration.whistle.conftest import START
from whistle.adapters.orm.whistles import WhistleDeadlineRow
from whistle.app import departments as projection
from whistle.app import whistles
from whistle.domain.errors import UnknownDepartment

SYSTEM = CallerContext.system()


class Env:
    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.clock = FixedClock(START)

    def run(self, fn):
        with UnitOfWork(self.db, service="whistle", clock=self.clock, context=SYSTEM) as uow:
            result = fn(uow)
            uow.commit()
            return result

    def count(self, event_type: str) -> int:
        with self.db.session(write=False) as s:
            # one event, two outbox rows: the street's copy and the department's
            query = select(func.count(func.distinct(OutboxRow.event_id))).where(OutboxRow.event_type == event_type)
            return int(s.scalar(query) or 0)


@pytest.fixture
def env(whistle_db: str) -> Iterator[Env]:
    e = Env(whistle_db)
    for d in departments():  # organization's org.created events, as the handler applies them
        event = {"time": isoformat_z(START), "data": {"id": str(uuid.uuid4()), "code": d.code, "name": d.name,
                 "org_path": d.org_path, "level": "department"}}  # fmt: skip
        e.run(lambda uow, event=event: projection.on_org_created(uow, event))
    yield e
    e.db.dispose()


def test_racing_scans_announce_each_milestone_once(env):
    for n in range(8):
        made = env.run(
            lambda uow, n=n: whistles.create_whistle(
                uow, SYSTEM, {"description": f"燃气味{n}", "org_path": f"/gd/wujing/c0{n % 3 + 1}/", "source": "patrol"}
            )
        )
        env.run(lambda uow, w=made["id"]: whistles.blow(uow, SYSTEM, w, {"situation_code": "gas_leak"}))
    assert env.run(whistles.scan_deadlines) == 0  # nothing has come due
    env.clock.advance(timedelta(minutes=31))  # 50% of the report-in hour, for the four departments of each
    counts: list[int] = []

    def scan() -> None:
        counts.append(env.run(lambda uow: whistles.scan_deadlines(uow, limit=10)))

    for _ in range(4):  # several rounds: a batch of 10 clock rows does not cover all 64 at once
        threads = [threading.Thread(target=scan) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    while env.run(whistles.scan_deadlines):
        pass
    assert env.count("whistle.reminded") == 8 * 4 and sum(counts) <= 8 * 4
    assert env.run(whistles.scan_deadlines) == 0

    env.clock.advance(timedelta(minutes=30))
    while env.run(whistles.scan_deadlines):
        pass
    assert env.count("whistle.overdue") == 8 * 4 and env.count("whistle.escalated") == 8 * 4
    with env.db.session(write=False) as s:
        statuses = set(s.scalars(select(WhistleDeadlineRow.status).where(WhistleDeadlineRow.stage == "report_in")))
    assert statuses == {"overdue"}
    overdue = env.run(lambda uow: whistles.list_whistles(uow, SYSTEM, {"overdue": True, "limit": 100}))
    assert len(overdue["items"]) == 8


def test_the_departments_projection_follows_organization_in_any_order(env):
    def apply(handler, data, time="2026-02-01T00:00:00Z"):
        env.run(lambda uow: handler(uow, {"time": time, "data": data}))

    def listed():
        return env.run(lambda uow: {d["code"]: d["name"] for d in projection.list_departments(uow, SYSTEM)["items"]})

    assert len(listed()) == 13
    lake, path = str(uuid.uuid4()), "/departments/lake/"
    apply(projection.on_org_closed, {"id": lake, "org_path": path, "street_code": "district"})  # before its creation
    apply(projection.on_org_created, {"id": lake, "code": "lake", "name": "滇池管理局", "org_path": path,
                                      "level": "department"})  # fmt: skip
    assert "lake" not in listed()  # a late creation does not reopen a closed department
    dam = str(uuid.uuid4())
    apply(
        projection.on_org_renamed, {"id": dam, "name": "水库管理处", "old_name": "x", "org_path": "/departments/dam/"}
    )
    assert listed()["dam"] == "水库管理处"
    apply(projection.on_org_created, {"id": dam, "code": "dam", "name": "水库所", "org_path": "/departments/dam/",
                                      "level": "department"})  # fmt: skip
    assert listed()["dam"] == "水库所"
    community = {
        "id": str(uuid.uuid4()),
        "code": "c09",
        "name": "社区",
        "org_path": "/gd/wujing/c09/",
        "level": "community",
    }
    apply(projection.on_org_created, community)
    assert "c09" not in listed() and len(listed()) == 14
    water = env.run(
        lambda uow: next(d for d in projection.list_departments(uow, SYSTEM)["items"] if d["code"] == "water")
    )
    apply(
        projection.on_org_closed, {"id": water["org_id"], "org_path": "/departments/water/", "street_code": "district"}
    )
    assert "water" not in listed()
    wid = env.run(lambda uow: whistles.create_whistle(uow, SYSTEM, {"description": "x", "org_path": "/gd/wujing/c01/"}))
    with pytest.raises(UnknownDepartment):  # a closed department is no longer summoned
        env.run(lambda uow: whistles.blow(uow, SYSTEM, wid["id"], {"situation_code": "waterlogging"}))


def test_two_databases_versions_under_one_number_are_never_mixed_up(env, tmp_path):
    """Validated versions are kept in memory by their document's digest: another database's version 2, published
    the same day with other situations, is its own."""
    from kit.migrate import upgrade
    from whistle.app.catalogue import load_catalogue, publish_catalogue

    other = Env(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade("whistle", str(other.db.engine.url))
    admin = CallerContext(role="district_admin", scope_path="/gd/", correlation_id="c", account_id=None)
    day = (START + timedelta(days=1)).date().isoformat()
    for e, code in ((env, "flooded_cellar"), (other, "fallen_tree")):
        water = {"id": str(uuid.uuid4()), "code": "water", "name": "水务局", "org_path": "/departments/water/"}
        e.run(lambda uow, water=water: projection.on_org_created(uow, {"time": isoformat_z(START), "data": water}))
        situation = {"code": code, "kind": "problem", "name": "积水", "standard": "抽排", "lead": "water"}
        doc = {"version": 2, "effective_from": day, "situations": [situation]}
        e.run(lambda uow, doc=doc: publish_catalogue(uow, admin, doc))
    for e, code in ((env, "flooded_cellar"), (other, "fallen_tree")):
        version = e.run(lambda uow: load_catalogue(uow).version(2))
        assert [s.code for s in version.situations] == [code]
    other.db.dispose()


def test_a_department_system_with_the_longest_code_is_recorded_in_the_trail(env):
    """A department's system acts as `<code>.system`: a 32-character code makes 39 characters, which the trail's
    actor column must hold (PostgreSQL refused it at 36)."""
    from kit.audit import audit_history

    code = "d" * 32
    system = CallerContext("department", f"/departments/{code}/", "c", f"{code}.system", code)
    with UnitOfWork(env.db, service="whistle", clock=env.clock, context=system) as uow:
        uow.audit("whistle.reported_in", "whistle", "w-long", {"state": "blown"})
        uow.commit()
    with env.db.session(write=False) as session:
        [entry] = audit_history(session, "whistle", "w-long")
    assert entry["actor_account_id"] == f"{code}.system"
