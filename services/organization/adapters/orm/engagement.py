"""Tables of dual registration, service reports, alliance memberships and branch star ratings.

Each record carries the org_path and street_code of its community, host or branch, so scope is a prefix test
in the query. `open_identity` is set while a registration or membership is open and cleared when it ends: a
unique (place, open_identity) pair lets the database refuse a second open one even when two requests race
(NULLs never collide, on SQLite as on PostgreSQL).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kit.orm import UtcDateTime
from organization.adapters.orm.base import Base


class DualRegistrationRow(Base):
    __tablename__ = "dual_registrations"
    __table_args__ = (
        UniqueConstraint("community_id", "open_identity", name="uq_dual_registrations_open"),
        Index("ix_dual_registrations_path", "org_path", "registered_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(400))
    street_code: Mapped[str] = mapped_column(String(32))
    registrant_kind: Mapped[str] = mapped_column(String(16))
    organisation_name: Mapped[str | None] = mapped_column(String(200), index=True)
    organisation_kind: Mapped[str | None] = mapped_column(String(16))
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    member_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"), index=True)
    member_name: Mapped[str | None] = mapped_column(String(100))
    registered_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    open_identity: Mapped[str | None] = mapped_column(String(250))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str | None] = mapped_column(String(36))


class ServiceReportRow(Base):
    __tablename__ = "service_reports"
    __table_args__ = (
        UniqueConstraint("registration_id", "period", name="uq_service_reports_period"),
        Index("ix_service_reports_path", "org_path", "period"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    registration_id: Mapped[str] = mapped_column(ForeignKey("dual_registrations.id"), index=True)
    community_id: Mapped[str] = mapped_column(String(36), index=True)
    org_path: Mapped[str] = mapped_column(String(400))
    street_code: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7))
    services: Mapped[str] = mapped_column(Text)
    hours_tenths: Mapped[int] = mapped_column(Integer)
    people_served: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str | None] = mapped_column(String(36))
    confirmed_by: Mapped[str | None] = mapped_column(String(36))
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AllianceMembershipRow(Base):
    __tablename__ = "alliance_memberships"
    __table_args__ = (
        UniqueConstraint("host_id", "open_identity", name="uq_alliance_memberships_open"),
        Index("ix_alliance_memberships_path", "org_path", "joined_on"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    host_id: Mapped[str] = mapped_column(ForeignKey("org_nodes.id"), index=True)
    host_level: Mapped[str] = mapped_column(String(32))
    org_path: Mapped[str] = mapped_column(String(400))
    street_code: Mapped[str] = mapped_column(String(32))
    organisation_name: Mapped[str] = mapped_column(String(200), index=True)
    organisation_kind: Mapped[str] = mapped_column(String(16))
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    left_reason: Mapped[str | None] = mapped_column(String(500))
    commitments: Mapped[list[str]] = mapped_column(JSON)
    open_identity: Mapped[str | None] = mapped_column(String(250))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str | None] = mapped_column(String(36))


class BranchRatingRow(Base):
    """A branch's current rating (a branch never rated has no row and counts as `none`)."""

    __tablename__ = "branch_ratings"

    branch_id: Mapped[str] = mapped_column(ForeignKey("org_nodes.id"), primary_key=True)
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    street_code: Mapped[str] = mapped_column(String(32))
    rating: Mapped[str] = mapped_column(String(32), index=True)
    effective_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)

    # Two decisions on one branch at once: the second UPDATE finds the version moved on and fails.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012 - SQLAlchemy's API


class RatingChangeRow(Base):
    """The history: every decision, never changed or deleted."""

    __tablename__ = "rating_changes"
    __table_args__ = (Index("ix_rating_changes_branch", "branch_id", "effective_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("org_nodes.id"))
    org_path: Mapped[str] = mapped_column(String(400), index=True)
    street_code: Mapped[str] = mapped_column(String(32))
    from_rating: Mapped[str] = mapped_column(String(32))
    to_rating: Mapped[str] = mapped_column(String(32))
    effective_on: Mapped[date] = mapped_column(Date)
    evidence_text: Mapped[str] = mapped_column(Text)
    evidence_refs: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_by_role: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
