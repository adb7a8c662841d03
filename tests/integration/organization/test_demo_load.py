"""The demo loader on SQLite and PostgreSQL: ~1,000 branches written in bulk through the domain, one
`org.created` per node in the outbox, the demo accounts in place, and a second load that changes nothing."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from kit.clock import FixedClock
from kit.config import Settings
from kit.context import CallerContext
from kit.db import Database
from kit.migrate import downgrade, upgrade
from kit.orm import AuditEntry, OutboxRow
from kit.uow import UnitOfWork
from organization.adapters.orm.accounts import AccountRow
from organization.adapters.orm.base import Base
from organization.adapters.orm.engagement import ServiceReportRow
from organization.adapters.orm.tree import OrgRow
from organization.adapters.repositories.tree import OrgRepository
from organization.app.tree import TreeBuilder
from organization.demo.__main__ import level_counts, load, main, node_id, record_counts
from organization.domain.errors import CodeTaken, LevelNotAllowed
from organization.domain.tree import Level

EXPECTED = {
    "district": 1,
    "street": 8,
    "community": 68,
    "area": 136,
    "building": 408,
    "working_committee": 8,
    "alliance": 8,
    "big_party_committee": 68,
    "branch": 1012,
    "departments": 1,
    "department": 13,
}


def snapshot(db: Database) -> tuple[int, int, int, int]:
    with db.session(write=False) as s:
        return (
            s.scalar(select(func.count()).select_from(OrgRow)),
            s.scalar(select(func.count()).select_from(OutboxRow)),
            s.scalar(select(func.count()).select_from(AccountRow)),
            s.scalar(select(func.count()).select_from(AuditEntry)),
        )


def row_counts(db: Database) -> dict[str, int]:
    with db.session(write=False) as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_the_demo_loads_once_with_its_counts_and_one_event_per_node(org_db, capsys, monkeypatch):
    monkeypatch.setenv("ORGANIZATION_DATABASE_URL", org_db)
    assert main([]) == 0
    printed = capsys.readouterr().out
    assert "demo data loaded in" in printed and "branch 1012" in printed
    assert level_counts(org_db) == EXPECTED

    db = Database(org_db)
    try:
        with db.session(write=False) as s:
            nodes = {row.id: row for row in s.scalars(select(OrgRow))}
            events = s.scalars(select(OutboxRow).where(OutboxRow.event_type == "org.created")).all()
            accounts = set(s.scalars(select(AccountRow.username)))
        # One org.created per node (one street each), carrying the node and the time the fact happened.
        assert len(events) == len(nodes) == sum(EXPECTED.values())
        bodies = [json.loads(e.body) for e in events]
        assert {b["subject"] for b in bodies} == set(nodes)
        branch = node_id("/gd/liujia/c01/br1/")
        body = next(b for b in bodies if b["subject"] == branch)
        assert body["data"]["level"] == "branch" and body["data"]["org_path"] == "/gd/liujia/c01/br1/"
        assert body["time"] == "2019-03-01T00:00:00Z"
        assert next(e.routing_key for e in events if e.event_id == body["id"]) == "org.created.liujia"
        # Parents first and consistent paths: every node hangs under the node its path names.
        for row in nodes.values():
            if row.parent_id is not None:
                assert row.org_path == f"{nodes[row.parent_id].org_path}{row.code}/"
                assert row.depth == nodes[row.parent_id].depth + 1
        # The secretaries' and desks' accounts (90), a secretary per branch, demo.member and demo.resident.
        assert len(accounts) == 1 + 8 + 68 + 13 + 1012 + 2
        assert {"district.admin", "liujia.secretary", "liujia.c01.secretary", "water.desk", "gas.desk"} <= accounts
        assert {"liujia.c01.a1.br1.secretary", "demo.member", "demo.resident"} <= accounts
        records = dict(record_counts(org_db))
        assert records["members"] == 21000 and records["accounts"] == len(accounts)
        assert (records["branches rated city_4_star"], records["branches rated city_5_star"]) == (58, 35)
        assert records["branches rated provincial_demonstration"] == 4
        assert min(records["alliance memberships"], records["dual registrations"], records["service reports"]) > 700
        with db.session(write=False) as s:
            kinds = dict(s.execute(select(OutboxRow.event_type, func.count()).group_by(OutboxRow.event_type)).all())
        assert kinds["member.registered"] == 21000  # every member through the registration's rules and event
        assert kinds["star_rating.changed"] == records["rating changes"]
        assert kinds["four_list_item.created"] == records["four-list items"]
        with db.session(write=False) as s:
            confirmed = s.scalars(
                select(ServiceReportRow.confirmed_at).where(ServiceReportRow.confirmed_at.is_not(None))
            )
            days = {c.date() for c in confirmed}
        assert len(days) > 30  # each confirmed on its generated day (months of them), not at the moment of the load

        # 0005 rebuilds tables other tables refer to (on SQLite): a step back and forward again keeps every row.
        rows = row_counts(db)
        downgrade("organization", org_db, "0004")
        upgrade("organization", org_db)
        assert row_counts(db) == rows

        before = snapshot(db)
        loaded, accounts_now, _ = load(Settings.from_env("organization", {"ORGANIZATION_DATABASE_URL": org_db}), "x")
        assert (loaded, accounts_now) == (False, [])
        assert snapshot(db) == before
    finally:
        db.dispose()


def test_the_bulk_builder_keeps_the_domains_rules(demo_db):
    db = Database(demo_db)
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    try:
        before = snapshot(db)
        with UnitOfWork(db, service="organization", clock=clock, context=CallerContext.system()) as uow:
            community = OrgRepository(uow.session).get_by_path("/gd/liujia/c01/")
            assert community is not None
            builder = TreeBuilder(uow, CallerContext.system(), {community.org_path: community})
            # A code the database already has under that parent, and a level that may not go there:
            with pytest.raises(CodeTaken):
                builder.add(
                    community.org_path, id=node_id("x1"), code="br1", name="x", level=Level.BRANCH, now=clock.now()
                )
            with pytest.raises(LevelNotAllowed):
                builder.add(
                    community.org_path, id=node_id("x2"), code="s9", name="x", level=Level.STREET, now=clock.now()
                )
            new = builder.add(
                community.org_path, id=node_id("x3"), code="br99", name="新支部", level=Level.BRANCH, now=clock.now()
            )
            with pytest.raises(CodeTaken):  # nor twice within one batch
                builder.add(
                    community.org_path, id=node_id("x4"), code="br99", name="x", level=Level.BRANCH, now=clock.now()
                )
            assert builder.write() == 1
            uow.commit()
        assert snapshot(db)[:2] == (before[0] + 1, before[1] + 1)
        with db.session(write=False) as s:
            assert s.get(OrgRow, new.id).org_path == "/gd/liujia/c01/br99/"
    finally:
        db.dispose()
