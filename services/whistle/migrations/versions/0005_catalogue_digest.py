"""each catalogue version's digest (SHA-256 of its stored document)

A blow needs the version in effect; validating a stored version (46 situations) on every blow cost more than
the rest of the blow. The service keeps validated versions in memory keyed by this digest, and reads a
version's document only when it has not seen its digest: a digest names the content, so two databases'
versions under one number are never mixed up.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 22:30:00
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

versions = sa.table(
    "catalogue_versions",
    sa.column("version", sa.Integer()),
    sa.column("document", sa.Text()),
    sa.column("digest", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("catalogue_versions") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=64), nullable=False, server_default=""))
    conn = op.get_bind()
    for version, document in conn.execute(sa.select(versions.c.version, versions.c.document)).all():
        digest = hashlib.sha256(document.encode()).hexdigest()
        conn.execute(versions.update().where(versions.c.version == version).values(digest=digest))


def downgrade() -> None:
    with op.batch_alter_table("catalogue_versions") as batch:
        batch.drop_column("digest")
