"""Table of the organisation tree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kit.orm import UtcDateTime
from organization.adapters.orm.base import Base


class OrgRow(Base):
    __tablename__ = "org_nodes"
    __table_args__ = (
        UniqueConstraint("parent_id", "code", name="uq_org_nodes_parent_code"),
        Index("ix_org_nodes_street_level", "street_code", "level"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100), index=True)
    level: Mapped[str] = mapped_column(String(32), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400), unique=True)
    depth: Mapped[int] = mapped_column(Integer)
    street_code: Mapped[str] = mapped_column(String(32))
    location: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    brand: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    # Optimistic locking: an UPDATE whose row moved on since it was read fails (StaleDataError).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012 - SQLAlchemy's API
