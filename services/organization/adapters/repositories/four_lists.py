"""Repository of the four lists, scoped to the caller's path; the overdue scan's claim."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kit.orm import under
from kit.pagination import Order, page
from organization.adapters.orm.four_lists import FourListItemRow, FourListNoteRow
from organization.domain.four_lists import FINAL, FourListItem, ListKind, Note, Status

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

ITEM_SORTS: dict[str, Order] = {
    "due": [(FourListItemRow.due_at, False), (FourListItemRow.id, False)],
    "-due": [(FourListItemRow.due_at, True), (FourListItemRow.id, True)],
    "created_at": [(FourListItemRow.created_at, False), (FourListItemRow.id, False)],
    "-created_at": [(FourListItemRow.created_at, True), (FourListItemRow.id, True)],
}


_OPEN = (str(Status.OPEN), str(Status.IN_PROGRESS))


def to_item(row: FourListItemRow) -> FourListItem:
    return FourListItem(
        kind=ListKind(row.kind), status=Status(row.status), **{name: getattr(row, name) for name in _ITEM_FIELDS}
    )


class FourListRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, item_id: str, scope: str) -> FourListItem | None:
        row = self.session.scalar(
            select(FourListItemRow).where(FourListItemRow.id == item_id, under(FourListItemRow.org_path, scope))
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
        query = select(FourListItemRow).where(under(FourListItemRow.org_path, scope))
        if view == "own":
            query = query.where(FourListItemRow.org_path == own_path)
        else:  # below: the nodes under the caller's own node
            query = query.where(under(FourListItemRow.org_path, own_path), FourListItemRow.org_path != own_path)
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
