"""Tables of the monthly assessment (一哨一考核): one row per month closed (the claim that makes a month's
figures official once, however many replicas try), and the figures stored when it closed.

A month's row is inserted by the closer that claims it (INSERT ... ON CONFLICT DO NOTHING on the primary key):
the one whose insert lands computes, stores and publishes in that transaction; the others insert nothing and
move on. A crash before commit leaves no row, so the next run closes the month."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kit.orm import BigIntPK, UtcDateTime
from whistle.adapters.orm.base import Base
from whistle.adapters.orm.whistles import WhistleDepartmentRow

# The month's records are found by their summons (a month is cut by when departments were summoned).
Index("ix_whistle_departments_summoned", WhistleDepartmentRow.summoned_at)


class AssessmentMonthRow(Base):
    __tablename__ = "assessment_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM, cut in Asia/Shanghai
    as_of: Mapped[datetime] = mapped_column(UtcDateTime())  # the month's end: what had happened by then counts
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    summonses: Mapped[int] = mapped_column(Integer)  # counted (returned ones apart), across the district
    departments: Mapped[int] = mapped_column(Integer)  # how many departments and streets have figures
    streets: Mapped[int] = mapped_column(Integer)


class MonthlyFiguresRow(Base):
    """One department's or street's figures of a closed month, ranked `within` the district or one street
    (a street's departments, for its secretary). Rates are shares in [0, 1], null when nothing was counted."""

    __tablename__ = "monthly_figures"
    __table_args__ = (UniqueConstraint("month", "group_by", "within", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(ForeignKey("assessment_months.month"))
    group_by: Mapped[str] = mapped_column(String(16))  # department | street
    within: Mapped[str] = mapped_column(String(32))  # "district", or the street whose departments these are
    key: Mapped[str] = mapped_column(String(32))  # the department's or the street's code
    rank: Mapped[int] = mapped_column(Integer)
    ranked_among: Mapped[int] = mapped_column(Integer)
    summonses: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    response_rate: Mapped[float | None] = mapped_column(Float)
    resolution_rate: Mapped[float | None] = mapped_column(Float)
    satisfaction_rate: Mapped[float | None] = mapped_column(Float)
    average_report_in_hours: Mapped[float | None] = mapped_column(Float)
    average_resolution_hours: Mapped[float | None] = mapped_column(Float)
    average_rating: Mapped[float | None] = mapped_column(Float)
    overdue: Mapped[int] = mapped_column(Integer)
