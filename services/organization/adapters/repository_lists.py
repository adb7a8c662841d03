"""Repositories of the four lists, street modules and account administration. Every read takes the caller's
scope, so a record outside it is simply not found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kit.pagination import Order, page
from organization.adapters.orm import AccountRow, OrgRow
from organization.adapters.orm_lists import FourListItemRow, FourListNoteRow, StreetModulesRow
from organization.adapters.repository import _account
from organization.domain.accounts import Account
from organization.domain.four_lists import FINAL, FourListItem, ListKind, Note, Status

ITEM_SORTS: dict[str, Order] = {
    "due": [(FourListItemRow.due_at, False), (FourListItemRow.id, False)],
    "-due": [(FourListItemRow.due_at, True), (FourListItemRow.id, True)],
    "created_at": [(FourListItemRow.created_at, False), (FourListItemRow.id, False)],
    "-created_at": [(FourListItemRow.created_at, True), (FourListItemRow.id, True)],
}
ACCOUNT_SORTS: dict[str, Order] = {
    "username": [(AccountRow.username, False), (AccountRow.id, False)],
    "-username": [(AccountRow.username, True), (AccountRow.id, True)],
}
_ITEM_FIELDS = (
    "id",
    "org_id",
    "org_path",
    "street_code",
    "title",
    "description",
    "owner_account_id",
    "due_date",
    "created_by",
    "created_at",
    "updated_at",
    "version",
    "started_at",
    "done_at",
    "cancelled_at",
    "overdue_at",
)
_OPEN = (str(Status.OPEN), str(Status.IN_PROGRESS))


def to_item(row: FourListItemRow) -> FourListItem:
    return FourListItem(
        kind=ListKind(row.kind), status=Status(row.status), **{name: getattr(row, name) for name in _ITEM_FIELDS}
    )


def _under(column: Any, scope: str) -> Any:
    return column.startswith(scope, autoescape=True)


class FourListRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, item_id: str, scope: str) -> FourListItem | None:
        row = self.session.scalar(
            select(FourListItemRow).where(FourListItemRow.id == item_id, _under(FourListItemRow.org_path, scope))
        )
        return to_item(row) if row is not None else None

    def add(self, item: FourListItem) -> None:
        self.session.add(
            FourListItemRow(
                kind=str(item.kind),
                status=str(item.status),
                due_at=item.due_at,
                **{name: getattr(item, name) for name in _ITEM_FIELDS},
            )
        )
        self.session.flush()

    def save(self, item: FourListItem) -> None:
        """Write back a changed item; its row must still be at the version it was loaded at."""
        row = self.session.get(FourListItemRow, item.id)
        assert row is not None
        row.version = item.version  # the mapper's version column makes the UPDATE fail if someone else won
        for name in _ITEM_FIELDS[4:]:
            setattr(row, name, getattr(item, name))
        row.status = str(item.status)
        row.due_at = item.due_at
        self.session.flush()

    def add_note(self, item_id: str, note: Note) -> None:
        self.session.add(
            FourListNoteRow(
                id=note.id,
                item_id=item_id,
                author_account_id=note.author_account_id,
                text=note.text,
                created_at=note.created_at,
            )
        )

    def notes(self, item_id: str) -> list[Note]:
        rows = self.session.scalars(
            select(FourListNoteRow)
            .where(FourListNoteRow.item_id == item_id)
            .order_by(FourListNoteRow.created_at, FourListNoteRow.id)
        )
        return [Note(r.id, r.author_account_id, r.text, r.created_at) for r in rows]

    def search(
        self,
        scope: str,
        own_path: str,
        view: str,
        filters: dict[str, Any],
        *,
        sort: str,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[FourListItem], str | None]:
        query = select(FourListItemRow).where(_under(FourListItemRow.org_path, scope))
        if view == "own":
            query = query.where(FourListItemRow.org_path == own_path)
        else:  # below: the nodes under the caller's own node
            query = query.where(_under(FourListItemRow.org_path, own_path), FourListItemRow.org_path != own_path)
        for name in ("status", "kind", "street_code", "org_id", "owner_account_id"):
            if filters.get(name):
                query = query.where(getattr(FourListItemRow, name) == str(filters[name]))
        if filters.get("overdue") is True:
            query = query.where(FourListItemRow.overdue_at.is_not(None), FourListItemRow.status.in_(_OPEN))
        elif filters.get("overdue") is False:
            query = query.where(FourListItemRow.overdue_at.is_(None))
        rows, next_cursor = page(self.session, query, ITEM_SORTS[sort], limit=limit, cursor=cursor)
        return [to_item(r) for r in rows], next_cursor

    # -- the overdue scan -------------------------------------------------------------------------------
    def due_unflagged(self, now: datetime, limit: int, *, skip_locked: bool) -> list[FourListItem]:
        """Items past due, not final and not yet flagged; on PostgreSQL rows another replica holds are skipped."""
        query = (
            select(FourListItemRow)
            .where(
                FourListItemRow.overdue_at.is_(None),
                FourListItemRow.status.in_(_OPEN),
                FourListItemRow.due_at <= now,
            )
            .order_by(FourListItemRow.due_at, FourListItemRow.id)
            .limit(limit)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return [to_item(r) for r in self.session.scalars(query)]

    def flag_overdue(self, item_id: str, now: datetime) -> bool:
        """Claim the item's overdue flag; False when someone (another replica) claimed it first."""
        result = self.session.execute(
            update(FourListItemRow)
            .where(
                FourListItemRow.id == item_id,
                FourListItemRow.overdue_at.is_(None),
                FourListItemRow.status.not_in([str(s) for s in FINAL]),
            )
            .values(overdue_at=now),
            execution_options={"synchronize_session": False},
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


class StreetModuleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, street_id: str) -> list[str] | None:
        row = self.session.get(StreetModulesRow, street_id)
        return list(row.modules) if row is not None else None

    def put(self, street_id: str, street_code: str, modules: list[str], now: datetime, by: str | None) -> None:
        row = self.session.get(StreetModulesRow, street_id, with_for_update=True)
        if row is None:
            self.session.add(
                StreetModulesRow(
                    street_id=street_id, street_code=street_code, modules=modules, updated_at=now, updated_by=by
                )
            )
        else:
            row.modules, row.updated_at, row.updated_by = modules, now, by
        self.session.flush()

    def street_above(self, org_path: str) -> OrgRow | None:
        """The street node whose subtree holds `org_path` (None outside every street)."""
        parts = org_path.strip("/").split("/") if org_path.strip("/") else []
        prefixes = ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
        if not prefixes:
            return None
        return self.session.scalar(select(OrgRow).where(OrgRow.org_path.in_(prefixes), OrgRow.level == "street"))


class AccountAdminRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, account_id: str, scope: str) -> tuple[Account, str] | None:
        """The account and its node's path, when the node lies in `scope`."""
        row = self.session.execute(
            select(AccountRow, OrgRow.org_path)
            .join(OrgRow, OrgRow.id == AccountRow.org_id)
            .where(AccountRow.id == account_id, _under(OrgRow.org_path, scope))
        ).first()
        return (_account(row[0]), row[1]) if row is not None else None

    def search(
        self, scope: str, filters: dict[str, Any], *, sort: str, limit: int, cursor: str | None
    ) -> tuple[list[tuple[Account, str]], str | None]:
        query = select(AccountRow).join(OrgRow, OrgRow.id == AccountRow.org_id).where(_under(OrgRow.org_path, scope))
        for name in ("role", "status", "org_id"):
            if filters.get(name):
                query = query.where(getattr(AccountRow, name) == str(filters[name]))
        if filters.get("q"):
            query = query.where(AccountRow.username.contains(filters["q"], autoescape=True))
        rows, next_cursor = page(self.session, query, ACCOUNT_SORTS[sort], limit=limit, cursor=cursor)
        ids = {r.org_id for r in rows if r.org_id}
        found = self.session.execute(select(OrgRow.id, OrgRow.org_path).where(OrgRow.id.in_(ids)))
        paths = {row.id: row.org_path for row in found}
        return [(_account(r), paths.get(r.org_id or "", "")) for r in rows], next_cursor

    def username_taken(self, username: str) -> bool:
        return bool(self.session.scalar(select(func.count()).where(AccountRow.username == username)))

    def secretary_of(self, org_id: str) -> str | None:
        """The first active secretary (or district admin) account of a node, by username."""
        return self.session.scalar(
            select(AccountRow.id)
            .where(
                AccountRow.org_id == org_id,
                AccountRow.status == "active",
                AccountRow.role.in_(("district_admin", "street_secretary", "community_secretary")),
            )
            .order_by(AccountRow.username)
            .limit(1)
        )

    def account_in_node(self, account_id: str, org_id: str) -> bool:
        return (
            self.session.scalar(select(AccountRow.id).where(AccountRow.id == account_id, AccountRow.org_id == org_id))
            is not None
        )
