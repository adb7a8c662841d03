"""Tables of the four lists: items and their notes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kit.orm import UtcDateTime
from organization.adapters.orm.base import Base


class FourListItemRow(Base):
    __tablename__ = "four_list_items"
    __table_args__ = (
        Index("ix_four_list_items_path_created", "org_path", "created_at"),
        # the overdue scan: due, not final, not yet flagged
        Index("ix_four_list_items_due", "overdue_at", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400))
    street_code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    owner_account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    due_date: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    # Optimistic locking: an UPDATE whose row moved on since it was read fails (StaleDataError).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012 - SQLAlchemy's API


class FourListNoteRow(Base):
    """Progress notes: append-only (never updated or deleted)."""

    __tablename__ = "four_list_notes"
    __table_args__ = (Index("ix_four_list_notes_item_created", "item_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("four_list_items.id"))
    author_account_id: Mapped[str | None] = mapped_column(String(36))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
