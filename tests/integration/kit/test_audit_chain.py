"""The audit trail is a hash chain (each entry carries the hash of the one before): it holds across units of
work, also when one unit writes thousands of entries in bulk, and an entry changed afterwards is found."""

from itertools import pairwise

from sqlalchemy import select, text

from kit.clock import SystemClock
from kit.context import CallerContext
from kit.db import Database
from kit.orm import AuditEntry
from kit.uow import GENESIS_HASH, UnitOfWork, verify_audit_chain
from tests.integration.kit.support import create_schema

ADMIN = CallerContext(role="district_admin", scope_path="/gd/", correlation_id="c-1", account_id="a-1")


def test_the_chain_holds_across_units_and_a_changed_entry_is_found(database_url):
    create_schema(database_url)
    db = Database(database_url)
    try:
        for unit, entries in enumerate((1, 3, 2500)):  # the last one more than a bulk statement's chunk
            with UnitOfWork(db, service="t", clock=SystemClock(), context=ADMIN) as uow:
                for i in range(entries):
                    uow.audit("thing.make", "thing", f"t{unit}.{i}", {"n": i, "名": "六甲"})
                uow.commit()
        with db.session(write=False) as s:
            rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
            assert len(rows) == 2504
            assert rows[0].prev_hash == GENESIS_HASH
            assert all(row.prev_hash == before.hash for before, row in pairwise(rows))
            assert [r.subject_id for r in rows[4:6]] == ["t2.0", "t2.1"]
            assert verify_audit_chain(s) is None
        changed = rows[2].seq
        with db.session(write=True) as s:
            s.execute(text("UPDATE kit_audit SET data = :data WHERE seq = :seq"), {"data": '{"n":9}', "seq": changed})
            s.commit()
        with db.session(write=False) as s:
            assert verify_audit_chain(s) == changed
    finally:
        db.dispose()
