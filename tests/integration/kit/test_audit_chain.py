"""The audit trail is one hash chain per subject (each entry carries its subject's `seq` and the hash of the
subject's entry before): it holds across units of work, also when one unit writes thousands of entries in bulk,
the database refuses to change or delete an entry, and an entry changed or removed behind the triggers' back
is named by its seq. On PostgreSQL writers lock per subject (eventlet's patch makes psycopg2 green here, so
green threads may wait on each other's locks)."""

import json
import threading
from collections import defaultdict
from collections.abc import Callable
from itertools import pairwise
from typing import TypeVar

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from kit.audit import (
    GENESIS_HASH,
    SUBJECT_LOCKS_MAX,
    ChainBreak,
    append_rows,
    audit_history,
    verify_audit_chain,
    verify_subject_chain,
)
from kit.audit import main as audit_cli
from kit.bulk import insert_many
from kit.clock import SystemClock
from kit.context import CallerContext
from kit.db import Database
from kit.orm import AuditEntry
from kit.testing import tamper_with_audit_entry, wait_for
from kit.uow import UnitOfWork
from kit.uow import verify_audit_chain as verify_from_uow
from tests.integration.kit.support import create_schema

ADMIN = CallerContext(role="district_admin", scope_path="/gd/", correlation_id="c-1", account_id="a-1")
T = TypeVar("T")
BULK = 7000  # subjects in one unit: more than a bulk statement's chunk, and than PostgreSQL's 6,400 lock slots


def audit(db: Database, *entries: tuple[str, str, dict]) -> None:
    with UnitOfWork(db, service="t", clock=SystemClock(), context=ADMIN) as uow:
        for subject_type, subject_id, data in entries:
            uow.audit(f"{subject_type}.change", subject_type, subject_id, data)
        uow.commit()


@pytest.fixture
def db(database_url):
    create_schema(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def test_each_subject_has_its_own_chain_across_units_and_in_bulk(db):
    audit(db, ("thing", "a", {"n": 1}))
    audit(
        db,
        ("thing", "b", {"n": 1}),
        ("thing", "a", {"n": 2}),
        ("org", "a", {"名": "六甲"}),
        ("thing", "a", {"n": 3}),
    )
    audit(db, *[("bulk", f"s{i % BULK}", {"n": i}) for i in range(BULK + 5)], ("thing", "b", {"n": 2}))

    with db.session(write=False) as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        chains = defaultdict(list)
        for row in rows:
            chains[(row.subject_type, row.subject_id)].append(row)
        assert len(rows) == 1 + 4 + BULK + 5 + 1
        assert [r.seq for r in chains[("thing", "a")]] == [1, 2, 3]
        assert [r.seq for r in chains[("thing", "b")]] == [1, 2]
        assert [r.seq for r in chains[("org", "a")]] == [1]  # same id, another type: another chain
        assert [r.seq for r in chains[("bulk", "s3")]] == [1, 2]
        assert all(c[0].prev_hash == GENESIS_HASH for c in chains.values())
        assert all(row.prev_hash == before.hash for c in chains.values() for before, row in pairwise(c))
        assert verify_audit_chain(s) is None
        assert verify_from_uow is verify_audit_chain  # kit.uow's callers keep working
        assert verify_subject_chain(s, "thing", "a") is None
        assert verify_subject_chain(s, "thing", "nobody") is None

        history = audit_history(s, "thing", "a")
    assert [(h["seq"], h["action"], h["data"]) for h in history] == [
        (1, "thing.change", {"n": 1}),
        (2, "thing.change", {"n": 2}),
        (3, "thing.change", {"n": 3}),
    ]
    first = history[0]
    assert first["actor_account_id"] == "a-1" and first["actor_role"] == "district_admin"
    assert first["at"].endswith("Z") and first["prev_hash"] == GENESIS_HASH and history[1]["prev_hash"] == first["hash"]
    json.dumps(history)  # plain data, ready for the wire


def test_the_database_refuses_to_change_or_delete_an_entry(db):
    audit(db, ("thing", "a", {"n": 1}), ("thing", "a", {"n": 2}))
    refused = [
        "UPDATE kit_audit SET data = '{}' WHERE seq = 1",
        "DELETE FROM kit_audit WHERE seq = 2",
        "DELETE FROM kit_audit",
    ]
    if db.is_postgres:
        refused.append("TRUNCATE kit_audit")
    for statement in refused:
        with db.engine.connect() as conn, pytest.raises(DBAPIError, match="kit_audit is append-only"):
            conn.execute(text(statement))
    with db.session(write=False) as s:
        assert [h["data"] for h in audit_history(s, "thing", "a")] == [{"n": 1}, {"n": 2}]


def test_a_changed_or_missing_entry_is_named_by_its_seq(db):
    audit(db, *[("thing", "a", {"n": i}) for i in range(5)], ("thing", "b", {"n": 0}), ("thing", "c", {"n": 0}))
    tamper_with_audit_entry(db.url, "thing", "a", 3)
    tamper_with_audit_entry(db.url, "thing", "c", 1, actor_role="resident")
    with db.session(write=False) as s:
        assert verify_subject_chain(s, "thing", "a") == 3
        assert verify_subject_chain(s, "thing", "b") is None  # other subjects' chains are untouched
        assert verify_subject_chain(s, "thing", "c") == 1
        assert verify_audit_chain(s) == ChainBreak("thing", "a", 3, "hash")

    tamper_with_audit_entry(db.url, "thing", "b", 1, delete=True)
    audit(db, ("thing", "d", {"n": 0}), ("thing", "d", {"n": 1}), ("thing", "d", {"n": 2}))
    tamper_with_audit_entry(db.url, "thing", "d", 2, delete=True)
    with db.session(write=False) as s:
        assert verify_subject_chain(s, "thing", "d") == 2  # the first missing seq
        assert verify_subject_chain(s, "thing", "b") is None  # a subject's last entries gone leave no trace
    with db.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE kit_audit SET data = '{}'"))  # and the guard is back


def test_the_operators_check_says_where_the_trail_breaks(db, monkeypatch, capsys):
    audit(db, ("thing", "a", {"n": 0}), ("thing", "a", {"n": 1}), ("thing", "b", {"n": 0}))
    monkeypatch.setenv("T_DATABASE_URL", db.url)
    assert audit_cli(["t"]) == 0
    assert json.loads(capsys.readouterr().out) == {"sound": True, "first_break": None}
    tamper_with_audit_entry(db.url, "thing", "a", 2, prev_hash=GENESIS_HASH)
    assert audit_cli(["t", "thing", "b"]) == 0
    capsys.readouterr()
    assert audit_cli(["t", "thing", "a"]) == 1
    broken = {"subject_type": "thing", "subject_id": "a", "seq": 2, "reason": "prev_hash"}
    assert json.loads(capsys.readouterr().out) == {"sound": False, "first_break": broken}


def race(db: Database, units: int) -> list[str]:
    """Two writers, each `units` units auditing a shared subject (and one of its own), started together."""
    start = threading.Barrier(2)
    errors: list[str] = []

    def writer(n: int) -> None:
        start.wait()
        for i in range(units):
            try:
                audit(db, ("thing", "shared", {"writer": n, "i": i}), ("thing", f"own-{n}", {"i": i}))
            except Exception as exc:
                errors.append(repr(exc))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def holding(db: Database, subjects: list[tuple[str, str]], then: Callable[[], T]) -> T:
    """Audit `subjects` in a transaction kept open (its locks held) while `then()` runs; commit after."""
    entries = [
        {
            "occurred_at": SystemClock().now(),
            "actor_account_id": None,
            "actor_role": "system",
            "action": "thing.hold",
            "subject_type": subject_type,
            "subject_id": subject_id,
            "data": "{}",
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


def waits(db: Database, *subjects: tuple[str, str]) -> tuple[bool, threading.Thread]:
    """Whether a writer of `subjects` waits for a lock (seen in pg_locks) rather than finishing; the writer,
    still running if it waits, finishes once the holder commits."""
    done = threading.Event()

    def write() -> None:
        audit(db, *[(subject_type, subject_id, {}) for subject_type, subject_id in subjects])
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")

    def settled() -> str | None:
        if done.is_set():
            return "finished"
        with db.engine.connect() as conn:
            return "waiting" if conn.scalar(waiting) else None

    return wait_for(settled, timeout=20, what="the writer to finish or wait") == "waiting", writer


@pytest.mark.postgres
def test_writers_on_postgresql_lock_per_subject(postgres_url):
    """Two writers racing on one subject make one sound chain (without the locks the unique seq refuses most
    of them); a writer to another subject does not wait for a held one, a writer to the same subject waits,
    and a transaction over more than SUBJECT_LOCKS_MAX subjects holds the whole trail."""
    create_schema(postgres_url)
    db = Database(postgres_url)
    try:
        assert race(db, 25) == []
        other, w1 = holding(db, [("thing", "x")], lambda: waits(db, ("thing", "y")))
        same, w2 = holding(db, [("thing", "x")], lambda: waits(db, ("thing", "x")))
        bulk = [("bulk", f"s{i}") for i in range(SUBJECT_LOCKS_MAX + 1)]
        blocked, w3 = holding(db, bulk, lambda: waits(db, ("thing", "z")))
        for w in (w1, w2, w3):
            w.join(20)
        assert (other, same, blocked) == (False, True, True)
        with db.session(write=False) as s:
            assert verify_audit_chain(s) is None
            assert [h["seq"] for h in audit_history(s, "thing", "shared")] == list(range(1, 51))
            assert [h["action"] for h in audit_history(s, "thing", "x")] == ["thing.hold", "thing.hold", "thing.change"]
            assert [h["seq"] for h in audit_history(s, "thing", "z")] == [1]
    finally:
        db.dispose()
