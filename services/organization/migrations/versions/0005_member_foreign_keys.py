"""member foreign keys: accounts, dual registrations and the access log name members that exist

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 17:00:00

Built in parallel, these three tables kept `member_id` as a plain string; the use cases now check the member,
and the database refuses a dangling id as well. On SQLite a table is rebuilt to gain a constraint, which
kit.migrate runs with foreign keys off and checks before it commits (SQLite's documented procedure).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("accounts", "dual_registrations", "member_access_log")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(batch_op.f(f"fk_{table}_member_id_members"), "members", ["member_id"], ["id"])


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_member_id_members"), type_="foreignkey")
