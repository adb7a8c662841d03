"""The members' tables: members (personal data encrypted, with keyed hashes), their transfers, and the
access log of every read of unmasked personal data."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kit.orm import BigIntPK, UtcDateTime
from organization.adapters.orm.base import Base


class MemberRow(Base):
    __tablename__ = "members"
    __table_args__ = (
        Index("ix_members_path_name", "org_path", "name"),
        Index("ix_members_branch_status", "branch_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("org_nodes.id"))
    org_path: Mapped[str] = mapped_column(String(400))
    street_code: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32))
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    education: Mapped[str | None] = mapped_column(String(50))
    joined_party_on: Mapped[date] = mapped_column(Date)
    full_member_on: Mapped[date | None] = mapped_column(Date)
    # Personal data: ciphertext, keyed hash (lookup, uniqueness) and the mask shown by default.
    id_number_cipher: Mapped[str] = mapped_column(String(200))
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    phone_cipher: Mapped[str | None] = mapped_column(String(200))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    left_on: Mapped[date | None] = mapped_column(Date)
    leave_reason: Mapped[str | None] = mapped_column(String(32))

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}  # noqa: RUF012 - SQLAlchemy's API


class MemberTransferRow(Base):
    __tablename__ = "member_transfers"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    from_branch_id: Mapped[str] = mapped_column(String(36))
    from_org_path: Mapped[str] = mapped_column(String(400))
    to_branch_id: Mapped[str] = mapped_column(String(36))
    to_org_path: Mapped[str] = mapped_column(String(400))
    transferred_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str | None] = mapped_column(String(36))


class AccessLogRow(Base):
    """One read of unmasked personal data: who, in which role, when, whose, which fields, and why (the
    correlation id ties it to the request)."""

    __tablename__ = "member_access_log"
    __table_args__ = (Index("ix_member_access_log_occurred", "occurred_at", "seq"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    account_id: Mapped[str | None] = mapped_column(String(36), index=True)
    role: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    fields: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    correlation_id: Mapped[str] = mapped_column(String(64))
