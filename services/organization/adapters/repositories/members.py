"""Load and save members, their transfers and the access log. Every read takes the caller's visibility
(scope path, or only themself for a member's account), so a member outside it is simply not found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kit.db import flush_or
from kit.pagination import Order, page
from organization.adapters.orm.members import AccessLogRow, MemberRow, MemberTransferRow
from organization.adapters.orm.tree import OrgRow
from organization.domain.engagement import MemberOnFile
from organization.domain.members import Branch, DuplicateIdNumber, Member

MEMBER_ORDER: Order = [(MemberRow.name, False), (MemberRow.id, False)]
ACCESS_ORDER: Order = [(AccessLogRow.seq, True)]

_FIELDS = (
    "id",
    "name",
    "branch_id",
    "org_path",
    "street_code",
    "role",
    "joined_party_on",
    "id_number_masked",
    "registered_at",
    "phone_masked",
    "full_member_on",
    "gender",
    "birth_date",
    "education",
    "status",
    "version",
    "left_on",
    "leave_reason",
)


@dataclass(frozen=True)
class Visibility:
    """Which members a caller may see: those under `scope`, or only `member_id` (a member's own account)."""

    scope: str
    member_id: str | None = None

    def where(self, query: Select[Any]) -> Select[Any]:
        if self.member_id is not None:
            return query.where(MemberRow.id == self.member_id)
        return (
            query.where(MemberRow.org_path.startswith(self.scope, autoescape=True))
            if self.scope
            else query.where(MemberRow.id.is_(None))
        )


@dataclass(frozen=True)
class Sealed:
    """A personal value as stored: ciphertext, keyed hash, mask."""

    cipher: str
    hash: str
    masked: str


def member_row(member: Member, id_number: Sealed, phone: Sealed | None) -> dict[str, Any]:
    """The column values of a new member's row (also what bulk loads insert)."""
    return {
        **{name: getattr(member, name) for name in _FIELDS if name not in ("id_number_masked", "phone_masked")},
        "id_number_cipher": id_number.cipher,
        "id_number_hash": id_number.hash,
        "id_number_masked": id_number.masked,
        "phone_cipher": phone.cipher if phone else None,
        "phone_hash": phone.hash if phone else None,
        "phone_masked": phone.masked if phone else None,
    }


def to_member(row: MemberRow) -> Member:
    return Member(**{name: getattr(row, name) for name in _FIELDS})


class MemberRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- branches ---------------------------------------------------------------------------------------
    def branch(self, org_id: str, scope: str) -> Branch | None:
        row = self.session.scalar(
            select(OrgRow).where(OrgRow.id == org_id, OrgRow.org_path.startswith(scope, autoescape=True))
        )
        if row is None or not scope:
            return None
        return Branch(id=row.id, level=row.level, status=row.status, org_path=row.org_path, street_code=row.street_code)

    # -- members ----------------------------------------------------------------------------------------
    def get(self, member_id: str, visibility: Visibility, *, for_update: bool = False) -> Member | None:
        query = visibility.where(select(MemberRow).where(MemberRow.id == member_id))
        if for_update:
            query = query.with_for_update()
        row = self.session.scalar(query)
        return to_member(row) if row is not None else None

    def on_file(self, member_id: str, scope: str) -> MemberOnFile | None:
        """A member's name and status wherever they are, or None for no such member: for a record that names
        a member outside the caller's scope (an in-service member registering where they live). `visible` says
        whether the member's branch lies in `scope`."""
        row = self.session.execute(
            select(MemberRow.name, MemberRow.status, OrgRow.org_path)
            .join(OrgRow, OrgRow.id == MemberRow.branch_id)
            .where(MemberRow.id == member_id)
        ).first()
        if row is None:
            return None
        return MemberOnFile(name=row.name, status=row.status, visible=row.org_path.startswith(scope))

    def sealed(self, member_id: str) -> tuple[str, str | None]:
        """The ciphertexts of a member's ID number and phone (only for a caller already allowed to reveal)."""
        row = self.session.get(MemberRow, member_id)
        assert row is not None
        return row.id_number_cipher, row.phone_cipher

    def phone_hash(self, member_id: str) -> str | None:
        return self.session.scalar(select(MemberRow.phone_hash).where(MemberRow.id == member_id))

    def id_number_taken(self, hashes: Sequence[str]) -> set[str]:
        if not hashes:
            return set()
        return set(self.session.scalars(select(MemberRow.id_number_hash).where(MemberRow.id_number_hash.in_(hashes))))

    def add(self, member: Member, id_number: Sealed, phone: Sealed | None) -> None:
        self.session.add(MemberRow(**member_row(member, id_number, phone)))
        # The handler checked the ID number first; a concurrent registration of the same one can still win.
        flush_or(self.session, DuplicateIdNumber())

    def save(self, member: Member, phone: Sealed | None = None, *, phone_removed: bool = False) -> None:
        """Write back a changed member; the row's version must still be the one it was loaded at."""
        row = self.session.get(MemberRow, member.id)
        assert row is not None
        row.version = member.version
        for name in _FIELDS:
            if name not in ("id", "version", "id_number_masked", "registered_at"):
                setattr(row, name, getattr(member, name))
        if phone is not None:
            row.phone_cipher, row.phone_hash, row.phone_masked = phone.cipher, phone.hash, phone.masked
        elif phone_removed:
            row.phone_cipher = row.phone_hash = row.phone_masked = None
        self.session.flush()

    def search(
        self, visibility: Visibility, filters: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[Member], str | None]:
        query = visibility.where(select(MemberRow))
        if filters.get("q"):
            query = query.where(MemberRow.name.contains(filters["q"], autoescape=True))
        if filters.get("branch_id"):
            query = query.where(MemberRow.branch_id == str(filters["branch_id"]))
        if filters.get("status"):
            query = query.where(MemberRow.status == filters["status"])
        rows, next_cursor = page(self.session, query, MEMBER_ORDER, limit=limit, cursor=cursor)
        return [to_member(r) for r in rows], next_cursor

    def roster(self, branch_id: str, visibility: Visibility) -> list[tuple[Member, str, str | None]]:
        """Every member of a branch with their ciphertexts, by name."""
        rows = self.session.scalars(
            visibility.where(select(MemberRow).where(MemberRow.branch_id == branch_id)).order_by(
                MemberRow.name, MemberRow.id
            )
        )
        return [(to_member(r), r.id_number_cipher, r.phone_cipher) for r in rows]

    # -- transfers --------------------------------------------------------------------------------------
    def add_transfer(self, member: Member, from_branch: Branch, on: Any, now: datetime, by: str | None) -> None:
        self.session.add(
            MemberTransferRow(
                member_id=member.id,
                from_branch_id=from_branch.id,
                from_org_path=from_branch.org_path,
                to_branch_id=member.branch_id,
                to_org_path=member.org_path,
                transferred_on=on,
                recorded_at=now,
                recorded_by=by,
            )
        )

    def transfers(self, member_id: str) -> list[MemberTransferRow]:
        return list(
            self.session.scalars(
                select(MemberTransferRow)
                .where(MemberTransferRow.member_id == member_id)
                .order_by(MemberTransferRow.seq)
            )
        )

    # -- access log -------------------------------------------------------------------------------------
    def log_access(
        self,
        *,
        now: datetime,
        account_id: str | None,
        role: str,
        member_ids: Sequence[str],
        fields: Sequence[str],
        action: str,
        correlation_id: str,
    ) -> None:
        self.session.add_all(
            AccessLogRow(
                occurred_at=now,
                account_id=account_id,
                role=role,
                member_id=member_id,
                fields=",".join(fields),
                action=action,
                correlation_id=correlation_id,
            )
            for member_id in member_ids
        )

    def access_log(self, filters: dict[str, Any], *, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
        query = select(AccessLogRow)
        if filters.get("member_id"):
            query = query.where(AccessLogRow.member_id == str(filters["member_id"]))
        if filters.get("account_id"):
            query = query.where(AccessLogRow.account_id == str(filters["account_id"]))
        if filters.get("since"):
            query = query.where(AccessLogRow.occurred_at >= filters["since"])
        if filters.get("until"):
            query = query.where(AccessLogRow.occurred_at < filters["until"])
        return page(self.session, query, ACCESS_ORDER, limit=limit, cursor=cursor)
