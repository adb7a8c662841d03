"""Secretaries' four lists (四张清单: 责任/项目/问题/整改): items a district, street or community secretary's node
owns, with an explicit status machine, append-only progress notes, optimistic versions and the overdue rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from organization.domain.errors import OrgError

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ListKind(StrEnum):
    RESPONSIBILITY = "responsibility"  # 责任清单
    PROJECT = "project"  # 项目清单
    PROBLEM = "problem"  # 问题清单
    RECTIFICATION = "rectification"  # 整改清单


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


# (from -> to) moves an item may make; done and cancelled are final.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.IN_PROGRESS, Status.DONE, Status.CANCELLED}),
    Status.IN_PROGRESS: frozenset({Status.OPEN, Status.DONE, Status.CANCELLED}),
    Status.DONE: frozenset(),
    Status.CANCELLED: frozenset(),
}
FINAL = frozenset({Status.DONE, Status.CANCELLED})
# The levels whose secretaries keep four lists.
OWNER_LEVELS = frozenset({"district", "street", "community"})
# The roles that keep four lists (the three levels of secretaries): only these may own an item, since an owner
# must be able to read it (a resident or a desk account on the same node may not).
OWNER_ROLES = ("district_admin", "street_secretary", "community_secretary")
EDITABLE = ("title", "description", "due_date", "owner_account_id")


class FourListError(OrgError):
    code = "FOUR_LIST_INVALID"


class ItemNotFound(FourListError):
    kind = "not_found"
    code = "FOUR_LIST_ITEM_NOT_FOUND"


class InvalidTransition(FourListError):
    kind = "conflict"
    code = "FOUR_LIST_INVALID_TRANSITION"


class StaleItem(FourListError):
    kind = "conflict"
    code = "FOUR_LIST_STALE"


class NodeKeepsNoLists(FourListError):
    code = "FOUR_LIST_NODE_NOT_ALLOWED"


class OwnerInvalid(FourListError):
    code = "FOUR_LIST_OWNER_INVALID"


class ItemFinal(FourListError):
    kind = "conflict"
    code = "FOUR_LIST_ITEM_FINAL"


def due_at_for(due_date: date) -> datetime:
    """The instant an item due on `due_date` becomes overdue: the end of that day in Asia/Shanghai (UTC)."""
    return datetime.combine(due_date + timedelta(days=1), time(0), tzinfo=SHANGHAI).astimezone(UTC)


def check_node(level: str) -> None:
    if level not in OWNER_LEVELS:
        raise NodeKeepsNoLists(
            f"a {level} keeps no four lists (only district, street and community secretaries do)",
            {"org_id": ["a district, street or community node"]},
        )


@dataclass(frozen=True)
class Note:
    id: str
    author_account_id: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class ItemCreated:
    item: FourListItem


@dataclass(frozen=True)
class ItemUpdated:
    item: FourListItem
    changes: dict[str, object]


@dataclass(frozen=True)
class ItemWentOverdue:
    item: FourListItem


ItemEvent = ItemCreated | ItemUpdated | ItemWentOverdue


@dataclass
class FourListItem:
    id: str
    org_id: str
    org_path: str
    street_code: str
    kind: ListKind
    title: str
    description: str
    owner_account_id: str
    due_date: date
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    status: Status = Status.OPEN
    version: int = 1
    started_at: datetime | None = None
    done_at: datetime | None = None
    cancelled_at: datetime | None = None
    overdue_at: datetime | None = None
    events: list[ItemEvent] = field(default_factory=list, repr=False)

    @property
    def due_at(self) -> datetime:
        return due_at_for(self.due_date)

    @classmethod
    def create(
        cls,
        *,
        id: str,
        org_id: str,
        org_path: str,
        org_level: str,
        street_code: str,
        kind: ListKind,
        title: str,
        description: str,
        owner_account_id: str,
        due_date: date,
        created_by: str | None,
        now: datetime,
    ) -> FourListItem:
        check_node(org_level)
        item = cls(
            id=id,
            org_id=org_id,
            org_path=org_path,
            street_code=street_code,
            kind=kind,
            title=title,
            description=description,
            owner_account_id=owner_account_id,
            due_date=due_date,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        item.events.append(ItemCreated(item))
        return item

    def _check_version(self, expected: int) -> None:
        if expected != self.version:
            raise StaleItem(f"the item is at version {self.version}, not {expected}: reload it and try again")

    def _changed(self, now: datetime, changes: dict[str, object]) -> None:
        self.version += 1
        self.updated_at = now
        self.events.append(ItemUpdated(self, changes))

    def edit(self, changes: dict[str, object], *, expected_version: int, now: datetime) -> None:
        """Change the editable fields given; a final item keeps its content."""
        self._check_version(expected_version)
        if self.status in FINAL:
            raise ItemFinal(f"a {self.status} item cannot be edited")
        applied = {k: v for k, v in changes.items() if k in EDITABLE and getattr(self, k) != v}
        if not applied:
            return
        for name, value in applied.items():
            setattr(self, name, value)
        if "due_date" in applied and self.overdue_at is not None and self.due_at > now:
            self.overdue_at = None  # a new deadline: it may go overdue (and be announced) again
        self._changed(now, {k: (v.isoformat() if isinstance(v, date) else v) for k, v in applied.items()})

    def move_to(self, status: Status, *, expected_version: int, now: datetime) -> None:
        self._check_version(expected_version)
        if status not in TRANSITIONS[self.status]:
            raise InvalidTransition(f"an item cannot go from {self.status} to {status}")
        old = self.status
        self.status = status
        if status is Status.IN_PROGRESS and self.started_at is None:
            self.started_at = now
        elif status is Status.DONE:
            self.done_at = now
        elif status is Status.CANCELLED:
            self.cancelled_at = now
        self._changed(now, {"status": str(status), "old_status": str(old)})

    def note_added(self, note: Note) -> None:
        """Progress notes are append-only; each one is an update of the item (no version needed to add one)."""
        self._changed(note.created_at, {"note_id": note.id})

    def is_overdue(self, now: datetime) -> bool:
        return self.status not in FINAL and now >= self.due_at

    def mark_overdue(self, now: datetime) -> bool:
        """Flag the item overdue once; False when it is not due yet, final, or already flagged."""
        if self.overdue_at is not None or not self.is_overdue(now):
            return False
        self.overdue_at = now
        self.events.append(ItemWentOverdue(self))
        return True
