"""login throttles per source: failed log-ins counted per (account, client address), not on the account

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 02:30:00

Five wrong passwords from anyone locked any account (district.admin included) for 15 minutes: a deliberate
lockout was one loop away. Failures now live in `login_throttles`, one row per account and source, so a lock
closes only the door it was earned at. The account's own counters go; a lock in force when this runs is
forgotten (it would have expired within 15 minutes anyway).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kit.orm

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", kit.orm.UtcDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", kit.orm.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_login_throttles_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "source", name=op.f("pk_login_throttles")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("failed_attempts")
        batch_op.drop_column("first_failure_at")
        batch_op.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_until", kit.orm.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_failure_at", kit.orm.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))
    op.drop_table("login_throttles")
