"""0007 turns organization's one-chain trail into a chain per subject: entries written under 0006 are re-chained
per subject in the order they were written and verify afterwards, the table refuses changes, and the
downgrade gives back the one chain 0006's code verified."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, String, column, create_engine, insert, select, table, text
from sqlalchemy.exc import DBAPIError

from kit.audit import GENESIS_HASH, audit_history, verify_audit_chain, verify_subject_chain
from kit.db import Database
from kit.migrate import downgrade, upgrade
from kit.orm import UtcDateTime

# kit_audit as 0006 left it (`seq` the one chain's order), typed so times come back aware on both databases.
LEGACY = table(
    "kit_audit",
    column("seq", Integer()),
    column("occurred_at", UtcDateTime()),
    *(column(name, String()) for name in ("actor_account_id", "actor_role", "action", "subject_type", "subject_id")),
    *(column(name, String()) for name in ("data", "correlation_id", "prev_hash", "hash")),
)
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
# (subject_type, subject_id, action), in the order written: subjects interleaved, one id under two types.
OLD = [
    ("account", "a1", "account.create"),
    ("org", "o1", "org.created"),
    ("account", "a1", "account.login_failed"),
    ("account", "a2", "account.create"),
    ("org", "a1", "org.updated"),
    ("org", "o1", "org.updated"),
    ("account", "a1", "account.disable"),
]


def legacy_hash(prev: str, row: dict) -> str:
    """0006's kit.uow: one chain over the whole table, sha256(previous hash + canonical JSON of the entry)."""
    payload = {k: row[k] for k in ("actor_account_id", "actor_role", "action", "subject_type", "subject_id")}
    payload |= {"occurred_at": row["occurred_at"].isoformat(), "data": json.loads(row["data"])}
    payload["correlation_id"] = row["correlation_id"]
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev + canonical).encode()).hexdigest()


def legacy_rows() -> list[dict]:
    rows, prev = [], GENESIS_HASH
    for n, (subject_type, subject_id, action) in enumerate(OLD):
        row = {
            "occurred_at": START + timedelta(minutes=n, microseconds=n),
            "actor_account_id": None if n % 3 else "admin",
            "actor_role": "district_admin",
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "data": json.dumps({"n": n, "名": "六甲"}, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
            "correlation_id": f"c-{n}",
        }
        row["prev_hash"], row["hash"] = prev, legacy_hash(prev, row)
        prev = row["hash"]
        rows.append(row)
    return rows


def stored_legacy_chain_holds(url: str) -> bool:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(LEGACY).order_by(LEGACY.c.seq)).mappings()]
    engine.dispose()
    prev = GENESIS_HASH
    for row in rows:
        if row["prev_hash"] != prev or row["hash"] != legacy_hash(prev, row):
            return False
        prev = row["hash"]
    return True


def test_an_old_trail_is_rechained_per_subject_and_verifies(database_url):
    upgrade("organization", database_url, "0006")
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(insert(LEGACY), legacy_rows())
    engine.dispose()
    assert stored_legacy_chain_holds(database_url)

    upgrade("organization", database_url)
    db = Database(database_url)
    try:
        with db.session(write=False) as s:
            assert verify_audit_chain(s) is None
            for subject_type, subject_id, _ in OLD:
                assert verify_subject_chain(s, subject_type, subject_id) is None
            a1 = audit_history(s, "account", "a1")
            assert [(h["seq"], h["action"], h["data"]["n"]) for h in a1] == [
                (1, "account.create", 0),
                (2, "account.login_failed", 2),
                (3, "account.disable", 6),
            ]
            assert a1[0]["prev_hash"] == GENESIS_HASH and a1[1]["prev_hash"] == a1[0]["hash"]
            assert a1[0]["at"] == "2026-11-01T09:00:00Z" and a1[2]["at"] == "2026-11-01T09:06:00.000006Z"
            assert [h["seq"] for h in audit_history(s, "org", "o1")] == [1, 2]
            assert [h["action"] for h in audit_history(s, "org", "a1")] == ["org.updated"]
            ids = s.execute(text("SELECT id FROM kit_audit ORDER BY id")).scalars().all()
            assert len(ids) == len(OLD)  # the order of writing is kept, as `id`
        with db.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("UPDATE kit_audit SET data = '{}'"))
    finally:
        db.dispose()

    downgrade("organization", database_url, "0006")
    assert stored_legacy_chain_holds(database_url)
    upgrade("organization", database_url)
    db = Database(database_url)
    try:
        with db.session(write=False) as s:
            assert verify_audit_chain(s) is None
            assert len(audit_history(s, "account", "a1")) == 3
    finally:
        db.dispose()


def test_the_demo_trail_verifies_after_a_round_trip_and_new_entries_extend_it(demo_db):
    downgrade("organization", demo_db, "0006")
    assert stored_legacy_chain_holds(demo_db)
    upgrade("organization", demo_db)
    db = Database(demo_db)
    try:
        with db.session(write=False) as s:
            assert verify_audit_chain(s) is None
            total = s.scalar(text("SELECT count(*) FROM kit_audit"))
            subjects = s.scalar(text("SELECT count(DISTINCT subject_type || '/' || subject_id) FROM kit_audit"))
            assert total > 100 and subjects > 100
    finally:
        db.dispose()
