"""Use cases of the secretaries' four lists: create, edit, move through the status machine, add progress
notes, list a secretary's own items or those of the level below, and the overdue scan the timer runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from kit.clock import isoformat_z
from kit.context import CallerContext
from kit.events import Event
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from organization.adapters.repositories.accounts import AccountAdminRepository, AccountRepository
from organization.adapters.repositories.four_lists import FourListRepository
from organization.adapters.repositories.tree import OrgRepository
from organization.domain.errors import OrgNotFound
from organization.domain.four_lists import (
    OWNER_ROLES,
    FourListItem,
    ItemCreated,
    ItemEvent,
    ItemNotFound,
    ItemUpdated,
    ItemWentOverdue,
    ListKind,
    Note,
    OwnerInvalid,
    StaleItem,
    Status,
)

OVERDUE_BATCH = 500


def note_read(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "author_account_id": note.author_account_id,
        "text": note.text,
        "created_at": isoformat_z(note.created_at),
    }


def item_read(item: FourListItem, notes: list[Note] | None = None) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return isoformat_z(value) if value is not None else None

    read: dict[str, Any] = {
        "id": item.id,
        "org_id": item.org_id,
        "org_path": item.org_path,
        "street_code": item.street_code,
        "kind": str(item.kind),
        "title": item.title,
        "description": item.description,
        "owner_account_id": item.owner_account_id,
        "due_date": item.due_date.isoformat(),
        "due_at": isoformat_z(item.due_at),
        "status": str(item.status),
        "version": item.version,
        "created_by": item.created_by,
        "created_at": isoformat_z(item.created_at),
        "updated_at": isoformat_z(item.updated_at),
        "started_at": when(item.started_at),
        "done_at": when(item.done_at),
        "cancelled_at": when(item.cancelled_at),
        "overdue_at": when(item.overdue_at),
    }
    if notes is not None:
        read["notes"] = [note_read(n) for n in notes]
    return read


def to_message(event: ItemEvent) -> Event:
    item = event.item
    base: dict[str, Any] = {
        "id": item.id,
        "org_id": item.org_id,
        "org_path": item.org_path,
        "street_code": item.street_code,
    }
    match event:
        case ItemCreated():
            kind, when = "four_list_item.created", item.created_at
            data = {
                **base,
                "kind": str(item.kind),
                "title": item.title,
                "owner_account_id": item.owner_account_id,
                "due_date": item.due_date.isoformat(),
                "status": str(item.status),
            }
        case ItemUpdated(changes=changes):
            kind, when = "four_list_item.updated", item.updated_at
            data = {**base, "status": str(item.status), "version": item.version, "changes": changes}
        case ItemWentOverdue():
            kind = "four_list_item.went_overdue"
            when = item.overdue_at or item.due_at
            data = {
                **base,
                "kind": str(item.kind),
                "title": item.title,
                "owner_account_id": item.owner_account_id,
                "due_date": item.due_date.isoformat(),
                "status": str(item.status),
                "overdue_at": isoformat_z(when),
            }
    return Event(
        type=kind, subject=item.id, data=data, street_codes=(item.street_code,), org_path=item.org_path, time=when
    )


def _publish(uow: UnitOfWork, item: FourListItem, action: str) -> None:
    for event in item.events:
        message = to_message(event)
        uow.add_event(message)
        uow.audit(action, "four_list_item", item.id, message.data)
    item.events.clear()


def _load(repo: FourListRepository, ctx: CallerContext, item_id: str) -> FourListItem:
    item = repo.get(item_id, ctx.scope_path) if is_uuid(item_id) else None
    if item is None:
        raise ItemNotFound("four-list item not found")
    return item


def _save(repo: FourListRepository, item: FourListItem) -> None:
    try:
        repo.save(item)
    except StaleDataError:
        raise StaleItem("someone else changed this item first: reload it and try again") from None


def _own_path(uow: UnitOfWork, ctx: CallerContext) -> str:
    """The org path of the caller's own node (a district admin's is the district's, not `/`)."""
    accounts = AccountRepository(uow.session)
    account = accounts.get(ctx.account_id) if ctx.account_id else None
    path = accounts.org_path(account.org_id) if account is not None else None
    return path or ctx.scope_path


def _check_owner(uow: UnitOfWork, owner_id: str, org_id: str) -> None:
    if not AccountAdminRepository(uow.session).account_in_node(owner_id, org_id, OWNER_ROLES):
        raise OwnerInvalid(
            "the owner must be a secretary's account of the item's node",
            {"owner_account_id": ["a secretary's account of that node"]},
        )


def _default_owner(uow: UnitOfWork, ctx: CallerContext, org_id: str) -> str:
    """The caller on their own node; on a node below, that node's secretary."""
    accounts = AccountAdminRepository(uow.session)
    if ctx.account_id and accounts.account_in_node(ctx.account_id, org_id, OWNER_ROLES):
        return ctx.account_id
    return accounts.secretary_of(org_id, OWNER_ROLES) or ""


def create_item(uow: UnitOfWork, ctx: CallerContext, data: dict[str, Any]) -> dict[str, Any]:
    orgs = OrgRepository(uow.session)
    if data.get("org_id"):
        node = orgs.get(str(data["org_id"]), ctx.scope_path) if is_uuid(str(data["org_id"])) else None
    else:
        node = orgs.get_by_path(_own_path(uow, ctx))
        node = node if node is not None and ctx.can_see(node.org_path) else None
    if node is None:
        raise OrgNotFound("organisation not found")
    owner = str(data.get("owner_account_id") or _default_owner(uow, ctx, node.id))
    now = uow.clock.now()
    item = FourListItem.create(
        id=str(uuid.uuid4()),
        org_id=node.id,
        org_path=node.org_path,
        org_level=str(node.level),
        street_code=node.street_code,
        kind=ListKind(data["kind"]),
        title=data["title"],
        description=data.get("description") or "",
        owner_account_id=owner,
        due_date=data["due_date"],
        created_by=ctx.account_id,
        now=now,
    )
    _check_owner(uow, owner, node.id)
    FourListRepository(uow.session).add(item)
    _publish(uow, item, "four_list_item.create")
    return item_read(item, [])


def get_item(uow: UnitOfWork, ctx: CallerContext, item_id: str) -> dict[str, Any]:
    repo = FourListRepository(uow.session)
    item = _load(repo, ctx, item_id)
    return item_read(item, repo.notes(item.id))


def list_items(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    items, cursor = FourListRepository(uow.session).search(
        ctx.scope_path,
        _own_path(uow, ctx),
        query.get("scope", "own"),
        query,
        sort=query.get("sort", "due"),
        limit=query.get("limit", 50),
        cursor=query.get("cursor"),
    )
    return {"items": [item_read(i) for i in items], "next_cursor": cursor}


def edit_item(uow: UnitOfWork, ctx: CallerContext, item_id: str, data: dict[str, Any]) -> dict[str, Any]:
    repo = FourListRepository(uow.session)
    item = _load(repo, ctx, item_id)
    changes = {k: v for k, v in data.items() if k != "version"}
    if "owner_account_id" in changes:
        changes["owner_account_id"] = str(changes["owner_account_id"])
        _check_owner(uow, changes["owner_account_id"], item.org_id)
    item.edit(changes, expected_version=data["version"], now=uow.clock.now())
    _save(repo, item)
    _publish(uow, item, "four_list_item.edit")
    return item_read(item, repo.notes(item.id))


def change_status(uow: UnitOfWork, ctx: CallerContext, item_id: str, data: dict[str, Any]) -> dict[str, Any]:
    repo = FourListRepository(uow.session)
    item = _load(repo, ctx, item_id)
    item.move_to(Status(data["status"]), expected_version=data["version"], now=uow.clock.now())
    _save(repo, item)
    _publish(uow, item, "four_list_item.status")
    return item_read(item, repo.notes(item.id))


def add_note(uow: UnitOfWork, ctx: CallerContext, item_id: str, data: dict[str, Any]) -> dict[str, Any]:
    repo = FourListRepository(uow.session)
    item = _load(repo, ctx, item_id)
    note = Note(id=str(uuid.uuid4()), author_account_id=ctx.account_id, text=data["text"], created_at=uow.clock.now())
    repo.add_note(item.id, note)
    item.note_added(note)
    _save(repo, item)
    _publish(uow, item, "four_list_item.note")
    return item_read(item, repo.notes(item.id))


def scan_overdue(uow: UnitOfWork, limit: int = OVERDUE_BATCH) -> int:
    """Flag items past due (and announce each once); how many this run flagged. Safe with several replicas:
    PostgreSQL skips rows another scan holds, and the guarded UPDATE lets only one scan claim an item."""
    repo = FourListRepository(uow.session)
    now = uow.clock.now()
    flagged = 0
    for item in repo.due_unflagged(now, limit, skip_locked=uow.db.is_postgres):
        if item.mark_overdue(now) and repo.flag_overdue(item.id, now):
            _publish(uow, item, "four_list_item.overdue")
            flagged += 1
        item.events.clear()
    return flagged
