"""The audit trail is one hash chain per subject (each entry carries its subject's `seq` and the hash of the
subject's entry before): it holds across units of work, also when one unit writes thousands of entries in bulk,
the database refuses to change or delete an entry, and an entry changed or removed behind the triggers' back
is named by its seq. On PostgreSQL writers lock per subject (tests/integration/kit/audit_writers.py)."""

import json
import subprocess
import sys
from collections import defaultdict
from itertools import pairwise

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from kit.audit import (
    GENESIS_HASH,
    SUBJECT_LOCKS_MAX,
    ChainBreak,
    audit_history,
    verify_audit_chain,
    verify_subject_chain,
)
from kit.clock import SystemClock
from kit.context import CallerContext
from kit.db import Database
from kit.orm import AuditEntry
from kit.testing import tamper_with_audit_entry
from kit.uow import UnitOfWork
from kit.uow import verify_audit_chain as verify_from_uow
from tests.integration.kit.support import create_schema

ADMIN = CallerContext(role="district_admin", scope_path="/gd/", correlation_id="c-1", account_id="a-1")
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


@pytest.mark.postgres
def test_writers_on_postgresql_lock_per_subject(postgres_url):
    """Real threads in a child process (this one is eventlet's, where a blocked query would stop everything):
    two writers racing on one subject make one sound chain, a writer to another subject does not wait for a
    held one, a writer to the same subject waits, and a transaction over more than SUBJECT_LOCKS_MAX subjects
    holds the whole trail."""
    create_schema(postgres_url)
    run = subprocess.run(
        [sys.executable, "-m", "tests.integration.kit.audit_writers", postgres_url],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["race_errors"] == []
    assert report["other_subject_waited"] is False
    assert report["same_subject_waited"] is True
    assert report["bulk_blocked_others"] is True
    db = Database(postgres_url)
    try:
        with db.session(write=False) as s:
            assert verify_audit_chain(s) is None
            shared = audit_history(s, "thing", "shared")
            assert [h["seq"] for h in shared] == list(range(1, report["race_units"] + 1))
            assert len(audit_history(s, "bulk", "s0")) == 1
    finally:
        db.dispose()
    assert report["bulk_subjects"] > SUBJECT_LOCKS_MAX
