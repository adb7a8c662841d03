"""the shipped situation catalogue (catalogue/default.yaml) as version 1

The catalogue is data in the database from the first start on (migrations run at start): a district admin's
later versions follow it, and whistles refer to it by number. The document is the shipped YAML as JSON,
checked by the domain (validate_catalogue against the shipped department codes) before it is stored.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 19:20:00
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import yaml
from alembic import op

import kit.orm
from whistle.catalogue import DEPARTMENTS
from whistle.domain.catalogue import validate_catalogue

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT = Path(__file__).resolve().parents[2] / "catalogue" / "default.yaml"
# A fixed instant, not the wall clock: every database holds the same row.
SHIPPED_AT = datetime(2025, 1, 1, tzinfo=UTC)

versions = sa.table(
    "catalogue_versions",
    sa.column("version", sa.Integer()),
    sa.column("effective_from", sa.Date()),
    sa.column("document", sa.Text()),
    sa.column("published_at", kit.orm.UtcDateTime()),
    sa.column("published_by", sa.String()),
)


def upgrade() -> None:
    document = json.loads(json.dumps(yaml.safe_load(DEFAULT.read_text("utf-8")), default=str))
    version = validate_catalogue(document, DEPARTMENTS)
    op.bulk_insert(
        versions,
        [
            {
                "version": version.version,
                "effective_from": version.effective_from,
                "document": json.dumps(document, ensure_ascii=False),
                "published_at": SHIPPED_AT,
                "published_by": None,
            }
        ],
    )


def downgrade() -> None:
    op.execute(versions.delete().where(versions.c.version == 1))
