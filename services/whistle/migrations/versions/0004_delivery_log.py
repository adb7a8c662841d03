"""the delivery log of notifications (kit_deliveries)

The reminder and escalation handlers record each send here, so a retry sends only what has not gone out. The
table is the kit"s (`kit.orm.DeliveryLogBase`); addresses are stored masked beside a digest.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-06 19:47:19.022778
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kit.orm

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kit_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", kit.orm.UtcDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("address_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kit_deliveries")),
        sa.UniqueConstraint("event_id", "channel", "address_digest", name="uq_kit_deliveries_target"),
    )
    with op.batch_alter_table("kit_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kit_deliveries_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kit_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kit_deliveries_at"))

    op.drop_table("kit_deliveries")
