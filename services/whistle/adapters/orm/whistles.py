"""Tables of whistles: the whistle itself (queryable columns beside the aggregate's serialised state), one row
per summoned department, and one row per running clock, which the deadline timer claims.

The aggregate is stored whole as JSON in `whistles.document` (adapters/repositories/whistles.py maps it both
ways) and rebuilt from it: its clocks carry pauses, extensions and the milestones already announced, which
would take several more tables to hold and which no query asks about. Everything a query filters, sorts or
scopes on is a column, and the department and deadline rows are brought in line with the aggregate on every
save (each written only when it changed), in the same transaction, so they never disagree with the document.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kit.orm import BigIntPK, UtcDateTime
from whistle.adapters.orm.base import Base


class WhistleRow(Base):
    __tablename__ = "whistles"
    __table_args__ = (
        Index("ix_whistles_path_created", "org_path", "created_at"),
        Index("ix_whistles_raiser_created", "raiser_account_id", "created_at"),
        Index("ix_whistles_street_state", "street_code", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    street_code: Mapped[str] = mapped_column(String(32))
    org_path: Mapped[str] = mapped_column(String(400))  # the community's (or street's) path, kept when closed
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(16))
    situation_code: Mapped[str | None] = mapped_column(String(64))
    catalogue_version: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    lead_department: Mapped[str | None] = mapped_column(String(32))
    raiser_account_id: Mapped[str | None] = mapped_column(String(36))
    raiser_member_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    reopens: Mapped[int] = mapped_column(Integer)
    merged_into: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    blown_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    document: Mapped[str] = mapped_column(Text)  # the aggregate, serialised
    # Optimistic locking: a save whose row moved on since it was read changes nothing (the guarded UPDATE).
    version: Mapped[int] = mapped_column(Integer)


class WhistleDepartmentRow(Base):
    """One summoned department on one whistle (the latest round), for the department's scope and filters."""

    __tablename__ = "whistle_departments"
    __table_args__ = (Index("ix_whistle_departments_department", "department_code", "whistle_id"),)

    whistle_id: Mapped[str] = mapped_column(ForeignKey("whistles.id"), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # lead | assisting
    stage: Mapped[str] = mapped_column(String(16))  # summoned | reported_in | handled | returned
    summoned_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reported_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    return_reason: Mapped[str | None] = mapped_column(Text)


class WhistleDeadlineRow(Base):
    """One clock of one summoned department (stage report_in or resolution). `next_check_at` is when the
    aggregate next has something to announce on it (a reminder, overdue, an escalation): the timer finds
    rows `WHERE next_check_at <= now` (indexed) and claims their whistles with SKIP LOCKED. Null when nothing
    is left to announce or the clock stands still (paused) or has stopped."""

    __tablename__ = "whistle_deadlines"
    __table_args__ = (
        Index("ix_whistle_deadlines_next_check", "next_check_at"),
        Index("ix_whistle_deadlines_whistle", "whistle_id"),
        Index("ix_whistle_deadlines_department_status", "department_code", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    whistle_id: Mapped[str] = mapped_column(ForeignKey("whistles.id"))
    department_code: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16))  # report_in | resolution
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # None while paused
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # running | paused | overdue (announced, still running) | met (done in time) | missed (done late) | stopped
    status: Mapped[str] = mapped_column(String(16))
