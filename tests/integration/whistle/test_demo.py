"""The demo loader (`python -m whistle.demo`, size `small`) on SQLite: whistles of every street, kind and state
through the use cases, every history chain intact, events at the facts' times, and a second run adds nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from kit.audit import verify_subject_chain
from kit.clock import FixedClock
from kit.config import Settings, repo_root
from kit.context import CallerContext
from kit.db import Database
from kit.demo_tree import demo_uid, departments, streets
from kit.orm import AuditEntry, OutboxRow
from kit.uow import UnitOfWork, verify_audit_chain
from whistle.adapters.orm.departments import DepartmentRow
from whistle.adapters.orm.whistles import WhistleRow
from whistle.app.departments import on_org_created
from whistle.demo import SIZES, load, state_counts

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # noon in Kunming on organization's default demo day


def test_the_small_demo_is_a_plausible_year_whose_histories_verify_and_loads_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'whistle.db'}"
    settings = Settings.from_env("whistle", {"WHISTLE_DATABASE_URL": url})

    done = load(settings, size="small", now=NOW)

    assert done.loaded and done.whistles == SIZES["small"] and done.departments == 13
    counts = state_counts(url)
    assert sum(counts["state"].values()) == SIZES["small"]
    assert counts["state"]["closed"] > 0.8 * SIZES["small"]  # most of a year's whistles are long closed
    assert {"collected", "blown", "handled"} <= set(counts["state"])  # and some are open at a stage
    assert set(counts["street"]) == {s.code for s in streets()}
    assert all(n >= 0.05 * SIZES["small"] for n in counts["street"].values())
    assert {"problem", "service", "tackling", "emergency"} <= set(counts["kind"])
    assert counts["overdue"]["whistles"] > 0
    for fact in ("whistle.returned", "whistle.reopened", "whistle.extension_approved", "whistle.overdue"):
        assert counts["facts"][fact] > 0, fact

    db = Database(url)
    try:
        with db.session(write=False) as session:
            assert verify_audit_chain(session) is None
            first = demo_uid("whistle", 0)
            assert verify_subject_chain(session, "whistle", first) is None
            assert session.get(WhistleRow, first) is not None  # stable ids: the same whistle every load
            assert session.scalar(select(func.count()).select_from(DepartmentRow)) == 13
            # events carry the fact's time (the year before the demo's now), not the load's
            earliest, latest = session.execute(
                select(func.min(OutboxRow.occurred_at), func.max(OutboxRow.occurred_at))
            ).one()
            assert NOW - timedelta(days=366) <= earliest.replace(tzinfo=UTC) < NOW - timedelta(days=300)
            assert latest.replace(tzinfo=UTC) <= NOW
            entries = session.scalar(select(func.count()).select_from(AuditEntry))
    finally:
        db.dispose()

    # organization's replayed `org.created` of a department the demo made finds it there and leaves it so
    water = next(d for d in departments() if d.code == "water")
    event = {"time": "2019-03-01T00:00:00Z", "data": {"id": water.id, "org_path": water.org_path, "code": "water"}}
    db = Database(url)
    try:
        with UnitOfWork(db, service="whistle", clock=FixedClock(NOW), context=CallerContext.system()) as uow:
            on_org_created(uow, {**event, "data": {**event["data"], "name": water.name}})
            uow.commit()
        with db.session(write=False) as session:
            rows = list(session.scalars(select(DepartmentRow)))
            assert len(rows) == 13 and all(r.active for r in rows)
            assert {(r.code, r.org_id, r.name) for r in rows} == {(d.code, d.id, d.name) for d in departments()}
    finally:
        db.dispose()

    again = subprocess.run(
        [sys.executable, "-m", "whistle.demo"],
        env={"WHISTLE_DATABASE_URL": url, "DEMO_RECORDS": "small", "PATH": "/usr/bin:/bin"},
        cwd=repo_root(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "already loaded" in again.stdout
    db = Database(url)
    try:
        with db.session(write=False) as session:
            assert session.scalar(select(func.count()).select_from(WhistleRow)) == SIZES["small"]
            assert session.scalar(select(func.count()).select_from(AuditEntry)) == entries
    finally:
        db.dispose()
