"""Concurrent audit writers on PostgreSQL, with real threads: `python -m tests.integration.kit.audit_writers URL`
prints one JSON line for tests/integration/kit/test_audit_chain.py.

A separate process because the tests' own process is patched by eventlet, where one green thread blocked on a
lock inside psycopg2 would stop the others (the runner makes psycopg2 green; the tests do not).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from kit.audit import SUBJECT_LOCKS_MAX, append_rows
from kit.bulk import insert_many
from kit.canonical import canonical_json
from kit.clock import SystemClock
from kit.context import CallerContext
from kit.db import Database
from kit.orm import AuditEntry
from kit.uow import UnitOfWork

ADMIN = CallerContext(role="district_admin", scope_path="/gd/", correlation_id="c-1", account_id="a-1")
RACE_UNITS = 25  # per writer
DEADLINE = 20.0


def audit(db: Database, *subjects: tuple[str, str]) -> None:
    with UnitOfWork(db, service="t", clock=SystemClock(), context=ADMIN) as uow:
        for subject_type, subject_id in subjects:
            uow.audit("thing.change", subject_type, subject_id, {"at": time.monotonic()})
        uow.commit()


def race(db: Database) -> list[str]:
    """Two writers, each RACE_UNITS units auditing the shared subject (and one of its own), started together."""
    start = threading.Barrier(2)
    errors: list[str] = []

    def writer(n: int) -> None:
        start.wait()
        for _ in range(RACE_UNITS):
            try:
                audit(db, ("thing", "shared"), ("thing", f"own-{n}"))
            except Exception as exc:
                errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE * 3)
    return errors


def waiting_locks(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")))


def holding(db: Database, subjects: list[tuple[str, str]], then: Callable[[], Any]) -> Any:
    """Audit `subjects` in a transaction kept open (its locks held) while `then()` runs; commit after."""
    now = SystemClock().now()
    entries = [
        {
            "occurred_at": now,
            "actor_account_id": None,
            "actor_role": "system",
            "action": "thing.hold",
            "subject_type": subject_type,
            "subject_id": subject_id,
            "data": canonical_json({}),
            "correlation_id": "hold",
        }
        for subject_type, subject_id in subjects
    ]
    with db.session(write=True) as session:
        insert_many(session, AuditEntry, append_rows(session, entries, lock=True))
        try:
            return then()
        finally:
            session.commit()


def waits(db: Database, subjects: tuple[tuple[str, str], ...]) -> tuple[bool, threading.Thread]:
    """Whether a writer of `subjects` waits (seen in pg_locks) or finishes first; the writer, still running
    if it waits, finishes once the holder commits."""
    done = threading.Event()

    def write() -> None:
        audit(db, *subjects)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if done.is_set():
            return False, writer
        if waiting_locks(db):
            return True, writer
        time.sleep(0.01)
    raise TimeoutError("the writer neither finished nor waited")


def main(url: str) -> None:
    db = Database(url)
    try:
        race_errors = race(db)
        other, w1 = holding(db, [("thing", "x")], lambda: waits(db, (("thing", "y"),)))
        same, w2 = holding(db, [("thing", "x")], lambda: waits(db, (("thing", "x"),)))
        bulk_subjects = [("bulk", f"s{i}") for i in range(SUBJECT_LOCKS_MAX + 1)]
        blocked, w3 = holding(db, bulk_subjects, lambda: waits(db, (("thing", "z"),)))
        for w in (w1, w2, w3):
            w.join(DEADLINE)
        report = {
            "race_errors": race_errors,
            "race_units": 2 * RACE_UNITS,
            "other_subject_waited": other,
            "same_subject_waited": same,
            "bulk_blocked_others": blocked,
            "bulk_subjects": len(bulk_subjects),
        }
        print(json.dumps(report))
    finally:
        db.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
