"""kit_audit.actor_account_id holds 64 characters (it held 36)

A city department's own system acts as its broker user `<code>.system`: a department code of up to 32
characters makes 39, which PostgreSQL refused ("value too long"), so such a department's commands could never
be recorded. The trail's guard triggers are dropped and put back around the change (on SQLite the batch
rebuilds the table, which loses them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kit.audit import drop_audit_guard, install_audit_guard

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _resize(length: int, was: int) -> None:
    bind = op.get_bind()
    drop_audit_guard(bind)
    with op.batch_alter_table("kit_audit") as batch:
        batch.alter_column("actor_account_id", type_=sa.String(length), existing_type=sa.String(was))
    install_audit_guard(bind)


def upgrade() -> None:
    _resize(64, 36)


def downgrade() -> None:
    _resize(36, 64)
