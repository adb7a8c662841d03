"""Table of the modules each street runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kit.orm import UtcDateTime
from organization.adapters.orm.base import Base


class StreetModulesRow(Base):
    """The modules a street runs; a street without a row runs the catalogue's defaults."""

    __tablename__ = "street_modules"

    street_id: Mapped[str] = mapped_column(ForeignKey("org_nodes.id"), primary_key=True)
    street_code: Mapped[str] = mapped_column(String(32), unique=True)
    modules: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str | None] = mapped_column(String(36))
