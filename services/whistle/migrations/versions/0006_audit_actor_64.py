"""kit_audit.actor_account_id holds 64 characters (it held 36)

A city department's own system acts as its broker user `<code>.system`: a department code of up to 32
characters makes 39, which PostgreSQL refused ("value too long"), so such a department's commands could never
be recorded.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:40:00
"""

from collections.abc import Sequence

from alembic import op

from kit.migrate import resize_audit_actor

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    resize_audit_actor(op, 64, 36)


def downgrade() -> None:
    resize_audit_actor(op, 36, 64)
