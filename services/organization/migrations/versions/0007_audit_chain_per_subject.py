"""audit chain per subject: `kit_audit` becomes one hash chain per subject, append-only by trigger

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 19:30:00

The trail was one chain for the whole database, so every audited write on PostgreSQL waited for one advisory
lock, and a subject's history could only be proved by verifying everything. Now each subject has its own
chain (`seq` 1, 2, 3 ... and `prev_hash` within the subject), its writers lock only that subject, and the
global order column is `id` (it was `seq`). Existing entries are re-chained per subject in the order they
were written; triggers then refuse UPDATE and DELETE. The downgrade re-chains the old way.
"""

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import kit.orm
from kit.audit import chain, drop_audit_guard, install_audit_guard

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PAGE = 5000

audit = sa.table(
    "kit_audit",
    sa.column("id", ID_TYPE),
    sa.column("occurred_at", kit.orm.UtcDateTime()),
    sa.column("actor_account_id", sa.String()),
    sa.column("actor_role", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject_type", sa.String()),
    sa.column("subject_id", sa.String()),
    sa.column("seq", sa.Integer()),
    sa.column("data", sa.Text()),
    sa.column("correlation_id", sa.String()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
ENTRY = (
    "occurred_at",
    "actor_account_id",
    "actor_role",
    "action",
    "subject_type",
    "subject_id",
    "data",
    "correlation_id",
)


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("kit_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_kit_audit_subject_id")
        batch_op.alter_column("seq", new_column_name="id", existing_type=ID_TYPE, existing_nullable=False)
    if bind.dialect.name == "postgresql":
        op.execute("ALTER SEQUENCE kit_audit_seq_seq RENAME TO kit_audit_id_seq")
    with op.batch_alter_table("kit_audit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))

    heads: dict[tuple[str, str], tuple[int, str]] = {}
    for page in _pages(bind, audit.c.id.name):
        rows = list(chain(page, heads))
        for row in rows:
            heads[(row["subject_type"], row["subject_id"])] = (row["seq"], row["hash"])
        _update(bind, "id", rows, ("seq", "prev_hash", "hash"))

    with op.batch_alter_table("kit_audit", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_kit_audit_subject_seq", ["subject_type", "subject_id", "seq"])
    install_audit_guard(bind)  # after the last rebuild: on SQLite a rebuilt table loses its triggers


def downgrade() -> None:
    bind = op.get_bind()
    drop_audit_guard(bind)
    with op.batch_alter_table("kit_audit", schema=None) as batch_op:
        batch_op.drop_constraint("uq_kit_audit_subject_seq", type_="unique")
        batch_op.drop_column("seq")
    with op.batch_alter_table("kit_audit", schema=None) as batch_op:
        batch_op.alter_column("id", new_column_name="seq", existing_type=ID_TYPE, existing_nullable=False)
        batch_op.create_index("ix_kit_audit_subject_id", ["subject_id"], unique=False)
    if bind.dialect.name == "postgresql":
        op.execute("ALTER SEQUENCE kit_audit_id_seq RENAME TO kit_audit_seq_seq")

    prev = "0" * 64
    for page in _pages(bind, "seq"):
        rows = []
        for r in page:
            digest = _legacy_hash(prev, r)
            rows.append({"seq": r["seq"], "prev_hash": prev, "hash": digest})
            prev = digest
        _update(bind, "seq", rows, ("prev_hash", "hash"))


def _pages(bind: sa.Connection, order: str) -> Iterator[list[dict[str, Any]]]:
    """Every entry in the order written, a page at a time (keyset on the order column)."""
    key = sa.column(order, ID_TYPE)
    columns = [audit.c[name] for name in ENTRY]
    last: int | None = None
    while True:
        query = sa.select(key, *columns).select_from(audit).order_by(key).limit(PAGE)
        if last is not None:
            query = query.where(key > last)
        page = [dict(r) for r in bind.execute(query).mappings()]
        if not page:
            return
        yield page
        last = page[-1][order]


def _update(bind: sa.Connection, key: str, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        return
    statement = (
        sa.update(audit)
        .where(sa.column(key, ID_TYPE) == sa.bindparam("b_key"))
        .values({name: sa.bindparam(f"b_{name}") for name in columns})
    )
    bind.execute(statement, [{"b_key": row[key], **{f"b_{name}": row[name] for name in columns}} for row in rows])


def _legacy_hash(prev: str, row: dict[str, Any]) -> str:
    """0006's chain, frozen here: sha256 of the previous hash and the entry's canonical JSON, one chain."""
    payload = {
        "occurred_at": row["occurred_at"].isoformat(),
        "actor_account_id": row["actor_account_id"],
        "actor_role": row["actor_role"],
        "action": row["action"],
        "subject_type": row["subject_type"],
        "subject_id": row["subject_id"],
        "data": json.loads(row["data"]),
        "correlation_id": row["correlation_id"],
    }
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev + canonical).encode()).hexdigest()
