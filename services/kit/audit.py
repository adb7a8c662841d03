"""The audit trail: one hash chain per subject in `kit_audit`, extended by the unit of work in the same
transaction as the change, read and verified per subject or whole, and guarded by triggers against UPDATE and
DELETE (installed by each service's migrations).

An entry's hash is the fingerprint of its canonical form (`entry_hash`), which includes the subject, its `seq`
and the previous entry's hash: changing, removing or reordering an entry breaks its subject's chain there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from kit.canonical import fingerprint
from kit.clock import isoformat_z
from kit.config import Settings
from kit.db import Database
from kit.orm import AuditEntry, audit_guard_ddl, audit_guard_drop_ddl

Subject = tuple[str, str]  # (subject_type, subject_id)
Entry = Mapping[Any, Any]  # a dict, or a database row's mapping (keyed by column name)
GENESIS_HASH = "0" * 64  # the prev_hash of a subject's first entry

# What an entry's hash covers: every column but `id` (the database assigns it after the hash is made) and
# `hash` itself. `data` is covered as stored (its canonical JSON text).
HASHED_FIELDS = (
    "subject_type",
    "subject_id",
    "seq",
    "prev_hash",
    "occurred_at",
    "actor_account_id",
    "actor_role",
    "action",
    "data",
    "correlation_id",
)

# Above this many subjects in one transaction the writer takes the whole trail exclusively instead of one lock
# per subject: PostgreSQL keeps advisory locks in its shared lock table (max_locks_per_transaction, 64 by
# default, times the connections), and a loader auditing thousands of subjects ran out of it.
SUBJECT_LOCKS_MAX = 64
TRAIL_LOCK_KEY = int.from_bytes(hashlib.sha256(b"kit_audit").digest()[:8], "big", signed=True)
_CHUNK = 400  # subjects per statement (SQLite allows 32,766 bound values)


@dataclass(frozen=True)
class ChainBreak:
    """Where a subject's chain stops following: the first `seq` that is wrong, and why."""

    subject_type: str
    subject_id: str
    seq: int
    reason: str  # "hash" (the entry is not what was written), "prev_hash" (not linked to the entry before), "seq"


# -- the pure part: canonical form, hashes, verification of one subject's rows ------------------------------
def entry_hash(entry: Entry) -> str:
    """The hash of one entry (a mapping holding at least HASHED_FIELDS; `occurred_at` an aware datetime)."""
    canonical = {name: entry[name] for name in HASHED_FIELDS}
    canonical["occurred_at"] = isoformat_z(entry["occurred_at"])
    return fingerprint(canonical)


def chain(entries: Iterable[Mapping[str, Any]], heads: Mapping[Subject, tuple[int, str]]) -> Iterator[dict[str, Any]]:
    """The entries (without seq, prev_hash, hash) as rows to insert, each appended to its subject's chain.

    `heads` maps a subject to its last (seq, hash) in the database; a subject absent from it starts at seq 1
    after the genesis hash. Entries of one subject are chained in the order given.
    """
    last = dict(heads)
    for entry in entries:
        subject = (entry["subject_type"], entry["subject_id"])
        seq, prev = last.get(subject, (0, GENESIS_HASH))
        row = {**entry, "seq": seq + 1, "prev_hash": prev}
        row["hash"] = entry_hash(row)
        last[subject] = (row["seq"], row["hash"])
        yield row


def first_break(rows: Iterable[Entry]) -> tuple[int, str] | None:
    """(seq, reason) where one subject's rows, in seq order, stop being an unbroken chain; None when sound.

    A changed entry is named by its own seq; missing entries by the first missing seq.
    """
    expected_seq, prev = 1, GENESIS_HASH
    for row in rows:
        if row["seq"] != expected_seq:
            return min(expected_seq, row["seq"]), "seq"
        if row["prev_hash"] != prev:
            return row["seq"], "prev_hash"
        if row["hash"] != entry_hash(row):
            return row["seq"], "hash"
        expected_seq, prev = expected_seq + 1, row["hash"]
    return None


def lock_key(subject_type: str, subject_id: str) -> int:
    """The 64-bit advisory-lock key of one subject's chain (signed, as PostgreSQL's bigint)."""
    digest = hashlib.sha256(f"kit_audit\x00{subject_type}\x00{subject_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# -- writing (called by the unit of work at commit) ---------------------------------------------------------
def append_rows(session: Session, entries: Sequence[Mapping[str, Any]], *, lock: bool) -> Iterator[dict[str, Any]]:
    """Rows that extend each entry's subject chain, for `insert_many`; with `lock` (PostgreSQL), after taking
    the subjects' locks, which are held until the transaction ends.

    Writers to different subjects do not wait for each other: each holds the trail's lock shared and its
    subjects' locks exclusively, always in key order (so two writers never deadlock on them). A transaction
    with more than SUBJECT_LOCKS_MAX subjects holds the trail's lock exclusively instead. The unique
    (subject_type, subject_id, seq) refuses a forked chain whatever happens to the locks.
    """
    subjects = sorted({(e["subject_type"], e["subject_id"]) for e in entries})
    if lock:
        _lock_subjects(session, subjects)
    return chain(entries, _heads(session, subjects))


def _lock_subjects(session: Session, subjects: Sequence[Subject]) -> None:
    if len(subjects) > SUBJECT_LOCKS_MAX:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TRAIL_LOCK_KEY})
        return
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": TRAIL_LOCK_KEY})
    keys = sorted({lock_key(*subject) for subject in subjects})
    # One statement for all of them, taken in the sorted order of `keys` (unnest yields an array in order;
    # ORDER BY n says so). Two writers taking locks in different orders could deadlock: PostgreSQL would
    # then abort one of them.
    statement = text(
        "SELECT count(pg_advisory_xact_lock(k)) FROM "
        "(SELECT k FROM unnest(CAST(:keys AS bigint[])) WITH ORDINALITY AS t(k, n) ORDER BY n) AS ordered"
    ).bindparams(bindparam("keys", type_=ARRAY(BigInteger())))
    session.execute(statement, {"keys": keys})


# One subject's last entry, straight down the (subject_type, subject_id, seq) index; built once, so a command's
# commit does not build and coerce a statement again.
_HEAD = (
    select(AuditEntry.seq, AuditEntry.hash)
    .where(AuditEntry.subject_type == bindparam("subject_type"), AuditEntry.subject_id == bindparam("subject_id"))
    .order_by(AuditEntry.seq.desc())
    .limit(1)
)
_FEW = 8  # up to this many subjects (a command's usual one), a query each; more, grouped queries of _CHUNK


def _heads(session: Session, subjects: Sequence[Subject]) -> dict[Subject, tuple[int, str]]:
    """Each subject's last (seq, hash), for those that have entries."""
    heads: dict[Subject, tuple[int, str]] = {}
    if len(subjects) <= _FEW:
        for subject_type, subject_id in subjects:
            head = session.execute(_HEAD, {"subject_type": subject_type, "subject_id": subject_id}).first()
            if head is not None:
                heads[(subject_type, subject_id)] = (head.seq, head.hash)
        return heads
    for start in range(0, len(subjects), _CHUNK):
        chunk = subjects[start : start + _CHUNK]
        latest = (
            select(AuditEntry.subject_type, AuditEntry.subject_id, func.max(AuditEntry.seq).label("seq"))
            .where(tuple_(AuditEntry.subject_type, AuditEntry.subject_id).in_(chunk))
            .group_by(AuditEntry.subject_type, AuditEntry.subject_id)
            .subquery()
        )
        query = select(AuditEntry.subject_type, AuditEntry.subject_id, AuditEntry.seq, AuditEntry.hash).join(
            latest,
            and_(
                AuditEntry.subject_type == latest.c.subject_type,
                AuditEntry.subject_id == latest.c.subject_id,
                AuditEntry.seq == latest.c.seq,
            ),
        )
        for subject_type, subject_id, seq, digest in session.execute(query):
            heads[(subject_type, subject_id)] = (seq, digest)
    return heads


# -- reading and verifying ----------------------------------------------------------------------------------
_ROW = (
    AuditEntry.subject_type,
    AuditEntry.subject_id,
    AuditEntry.seq,
    AuditEntry.prev_hash,
    AuditEntry.hash,
    AuditEntry.occurred_at,
    AuditEntry.actor_account_id,
    AuditEntry.actor_role,
    AuditEntry.action,
    AuditEntry.data,
    AuditEntry.correlation_id,
)


def _subject_rows(session: Session, subject_type: str, subject_id: str) -> Iterator[Entry]:
    query = (
        select(*_ROW)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.seq)
    )
    yield from session.execute(query).mappings()


def verify_subject_chain(session: Session, subject_type: str, subject_id: str) -> int | None:
    """The first broken `seq` of one subject's chain (a changed entry, a wrong link, a missing entry), or None
    when it is sound (a subject without entries is sound)."""
    broken = subject_chain_break(session, subject_type, subject_id)
    return None if broken is None else broken.seq


def subject_chain_break(session: Session, subject_type: str, subject_id: str) -> ChainBreak | None:
    """`verify_subject_chain` with the reason: where one subject's chain breaks, or None."""
    broken = first_break(_subject_rows(session, subject_type, subject_id))
    return None if broken is None else ChainBreak(subject_type, subject_id, *broken)


def verify_audit_chain(session: Session) -> ChainBreak | None:
    """Every subject's chain, read once in (subject_type, subject_id, seq) order: the first break found, or
    None when the whole trail is intact."""
    query = (
        select(*_ROW)
        .order_by(AuditEntry.subject_type, AuditEntry.subject_id, AuditEntry.seq)
        .execution_options(yield_per=2000)
    )
    rows = session.execute(query).mappings()
    for (subject_type, subject_id), subject_rows in groupby(rows, key=lambda r: (r["subject_type"], r["subject_id"])):
        broken = first_break(subject_rows)
        if broken is not None:
            rows.close()
            return ChainBreak(subject_type, subject_id, *broken)
    return None


def audit_history(session: Session, subject_type: str, subject_id: str) -> list[dict[str, Any]]:
    """One subject's entries in seq order, as plain dicts for the wire (times in ISO-8601 UTC)."""
    return [
        {
            "seq": row["seq"],
            "action": row["action"],
            "at": isoformat_z(row["occurred_at"]),
            "actor_account_id": row["actor_account_id"],
            "actor_role": row["actor_role"],
            "correlation_id": row["correlation_id"],
            "data": json.loads(row["data"]),
            "prev_hash": row["prev_hash"],
            "hash": row["hash"],
        }
        for row in _subject_rows(session, subject_type, subject_id)
    ]


# -- the guard ----------------------------------------------------------------------------------------------
def install_audit_guard(conn: Connection) -> None:
    """Make `kit_audit` refuse UPDATE and DELETE: a migration calls `install_audit_guard(op.get_bind())`."""
    for statement in audit_guard_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)


def drop_audit_guard(conn: Connection) -> None:
    """Remove the guard (a migration's downgrade, or a test that tampers with the trail on purpose)."""
    for statement in audit_guard_drop_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)


# -- the operator's check -----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """`python -m kit.audit <service> [<subject_type> <subject_id>]`: 0 when the trail (or one subject's
    chain) is sound, 1 and the first break (one JSON line) when it is not."""
    parser = argparse.ArgumentParser(description="Verify a service's audit trail (every subject's chain, or one)")
    parser.add_argument("service")
    parser.add_argument("subject", nargs="*", metavar="subject_type subject_id")
    args = parser.parse_args(argv)
    if len(args.subject) not in (0, 2):
        parser.error("give both a subject_type and a subject_id, or neither")
    db = Database(Settings.from_env(args.service).database_url)
    try:
        with db.session(write=False) as session:
            found = subject_chain_break(session, *args.subject) if args.subject else verify_audit_chain(session)
    finally:
        db.dispose()
    broken = None if found is None else asdict(found)
    print(json.dumps({"sound": broken is None, "first_break": broken}, ensure_ascii=False))
    return 0 if broken is None else 1


if __name__ == "__main__":
    sys.exit(main())
