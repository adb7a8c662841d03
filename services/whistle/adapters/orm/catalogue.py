"""The situation catalogue's versions: each the validated document a district admin published (or the shipped
default, version 1), kept for ever, since a whistle keeps the version it was blown under."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kit.orm import UtcDateTime
from whistle.adapters.orm.base import Base


class CatalogueVersionRow(Base):
    __tablename__ = "catalogue_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    document: Mapped[str] = mapped_column(Text)  # JSON of the catalogue/default.yaml shape
    digest: Mapped[str] = mapped_column(String(64), server_default="")  # SHA-256 of `document` (hex)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_by: Mapped[str | None] = mapped_column(String(36))
