"""Whistles in and out of the database: the aggregate to its JSON document and back, the rows derived from it
(departments, clocks), the caller's scope in every query, the list's filters and the timer's claim."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, exists, false, insert, select, true, update
from sqlalchemy.orm import Session

from kit.clock import isoformat_z, parse_iso
from kit.context import CallerContext
from kit.orm import table_of, under
from kit.pagination import Order, page
from whistle.adapters.orm.whistles import WhistleDeadlineRow, WhistleDepartmentRow, WhistleRow
from whistle.domain.assessment import Satisfaction
from whistle.domain.calendar import Deadline, HolidayCalendar, Limit, Pause, Unit
from whistle.domain.catalogue import Kind, Limits
from whistle.domain.duplicates import Point
from whistle.domain.lifecycle import CLOCKED, FINAL, Assignment, Role, Source, Stage, State, Whistle, milestones

SECRETARY_ROLES = frozenset({"district_admin", "street_secretary", "community_secretary", "branch_secretary"})
RAISER_ROLES = frozenset({"resident", "member"})
WHISTLE_TIMES = (
    "collected_at",
    "blown_at",
    "paused_at",
    "handled_at",
    "feedback_at",
    "assessed_at",
    "closed_at",
    "reopened_at",
    "merged_at",
)
ASSIGNMENT_TIMES = ("summoned_at", "reported_in_at", "handled_at", "returned_at")
CLOCKS = ("report_in", "resolution")
ORDER: Order = ((WhistleRow.created_at, True), (WhistleRow.id, True))


# -- the aggregate as a document ---------------------------------------------------------------------------
def _t(value: datetime | None) -> str | None:
    return None if value is None else isoformat_z(value)


def _parse(value: str | None) -> datetime | None:
    return None if value is None else parse_iso(value)


def _limit(limit: Limit) -> dict[str, Any]:
    return {"amount": limit.amount, "unit": str(limit.unit)}


def _to_limit(doc: dict[str, Any]) -> Limit:
    return Limit(int(doc["amount"]), Unit(doc["unit"]))


def _deadline(deadline: Deadline) -> dict[str, Any]:
    return {
        "start": isoformat_z(deadline.start),
        "limit": _limit(deadline.limit),
        "extensions": [_limit(e) for e in deadline.extensions],
        "pauses": [{"paused_at": isoformat_z(p.paused_at), "resumed_at": _t(p.resumed_at)} for p in deadline.pauses],
    }


def _to_deadline(doc: dict[str, Any]) -> Deadline:
    return Deadline(
        start=parse_iso(doc["start"]),
        limit=_to_limit(doc["limit"]),
        extensions=tuple(_to_limit(e) for e in doc["extensions"]),
        pauses=tuple(Pause(parse_iso(p["paused_at"]), _parse(p["resumed_at"])) for p in doc["pauses"]),
    )


def _assignment(a: Assignment) -> dict[str, Any]:
    return {
        "department": a.department,
        "role": str(a.role),
        "report_in": _deadline(a.report_in),
        "resolution": _deadline(a.resolution),
        "stage": str(a.stage),
        **{name: _t(getattr(a, name)) for name in ASSIGNMENT_TIMES},
        "return_reason": a.return_reason,
        "extension_requested": None if a.extension_requested is None else _limit(a.extension_requested),
        "extension_reason": a.extension_reason,
        "announced": sorted(a.announced),
    }


def _to_assignment(doc: dict[str, Any]) -> Assignment:
    requested = doc["extension_requested"]
    return Assignment(
        department=doc["department"],
        role=Role(doc["role"]),
        summoned_at=parse_iso(doc["summoned_at"]),
        report_in=_to_deadline(doc["report_in"]),
        resolution=_to_deadline(doc["resolution"]),
        stage=Stage(doc["stage"]),
        reported_in_at=_parse(doc["reported_in_at"]),
        handled_at=_parse(doc["handled_at"]),
        returned_at=_parse(doc["returned_at"]),
        return_reason=doc["return_reason"],
        extension_requested=None if requested is None else _to_limit(requested),
        extension_reason=doc["extension_reason"],
        announced=frozenset(doc["announced"]),
    )


def whistle_document(w: Whistle) -> dict[str, Any]:
    """Everything the aggregate holds, as JSON-ready values (times in ISO-8601 with Z)."""
    return {
        "id": w.id,
        "street_code": w.street_code,
        "org_path": w.org_path,
        "source": str(w.source),
        "description": w.description,
        "raiser_account_id": w.raiser_account_id,
        "raiser_member_id": w.raiser_member_id,
        "situation_code": w.situation_code,
        "location": None if w.location is None else {"lon": w.location.lon, "lat": w.location.lat},
        "state": str(w.state),
        "kind": None if w.kind is None else str(w.kind),
        "catalogue_version": w.catalogue_version,
        "limits": None
        if w.limits is None
        else {"report_in": _limit(w.limits.report_in), "resolution": _limit(w.limits.resolution)},
        "lead": w.lead,
        "departments": {code: _assignment(a) for code, a in w.departments.items()},
        "round": w.round,
        "reopens": w.reopens,
        "result": w.result,
        "evidence": list(w.evidence),
        "photos": list(w.photos),
        "satisfaction": None if w.satisfaction is None else str(w.satisfaction),
        "rating": w.rating,
        "merged_into": w.merged_into,
        **{name: _t(getattr(w, name)) for name in WHISTLE_TIMES},
    }


def whistle_from_document(doc: dict[str, Any]) -> Whistle:
    location, limits = doc["location"], doc["limits"]
    return Whistle(
        id=doc["id"],
        street_code=doc["street_code"],
        org_path=doc["org_path"],
        source=Source(doc["source"]),
        description=doc["description"],
        collected_at=parse_iso(doc["collected_at"]),
        raiser_account_id=doc["raiser_account_id"],
        raiser_member_id=doc["raiser_member_id"],
        situation_code=doc["situation_code"],
        location=None if location is None else Point(location["lon"], location["lat"]),
        state=State(doc["state"]),
        kind=None if doc["kind"] is None else Kind(doc["kind"]),
        catalogue_version=doc["catalogue_version"],
        limits=None if limits is None else Limits(_to_limit(limits["report_in"]), _to_limit(limits["resolution"])),
        lead=doc["lead"],
        departments={code: _to_assignment(a) for code, a in doc["departments"].items()},
        round=doc["round"],
        reopens=doc["reopens"],
        result=doc["result"],
        evidence=tuple(doc["evidence"]),
        photos=tuple(doc["photos"]),
        satisfaction=None if doc["satisfaction"] is None else Satisfaction(doc["satisfaction"]),
        rating=doc["rating"],
        merged_into=doc["merged_into"],
        blown_at=_parse(doc["blown_at"]),
        paused_at=_parse(doc["paused_at"]),
        handled_at=_parse(doc["handled_at"]),
        feedback_at=_parse(doc["feedback_at"]),
        assessed_at=_parse(doc["assessed_at"]),
        closed_at=_parse(doc["closed_at"]),
        reopened_at=_parse(doc["reopened_at"]),
        merged_at=_parse(doc["merged_at"]),
    )


# -- the rows derived from it ------------------------------------------------------------------------------
def clock_rows(w: Whistle, cal: HolidayCalendar) -> list[dict[str, Any]]:
    """One row per clock of every summoned department: its due instant, when the timer should next look at it
    and its status (see WhistleDeadlineRow)."""
    rows = []
    for code, a in sorted(w.departments.items()):
        running = dict(a.clocks())
        for clock in CLOCKS:
            deadline: Deadline = getattr(a, clock)
            due = deadline.due_at(cal)
            next_check = None
            if clock in running:
                if w.state not in CLOCKED:
                    status = "paused" if due is None else "stopped"
                else:
                    status = "overdue" if f"{clock}:overdue" in a.announced else "running"
                    ahead = [m.at for m in milestones(clock, deadline, cal) if m.mark not in a.announced]
                    next_check = min(ahead, default=None)
            else:
                done = a.reported_in_at if clock == "report_in" else a.handled_at
                status = "stopped" if done is None else ("met" if due is None or done <= due else "missed")
            rows.append(
                {
                    "whistle_id": w.id,
                    "department_code": code,
                    "stage": clock,
                    "due_at": due,
                    "next_check_at": next_check,
                    "status": status,
                }
            )
    return rows


def _columns(w: Whistle, now: datetime) -> dict[str, Any]:
    return {
        "street_code": w.street_code,
        "org_path": w.org_path,
        "source": str(w.source),
        "kind": None if w.kind is None else str(w.kind),
        "situation_code": w.situation_code,
        "catalogue_version": w.catalogue_version,
        "state": str(w.state),
        "lead_department": w.lead,
        "raiser_account_id": w.raiser_account_id,
        "raiser_member_id": w.raiser_member_id,
        "description": w.description,
        "lon": None if w.location is None else w.location.lon,
        "lat": None if w.location is None else w.location.lat,
        "reopens": w.reopens,
        "merged_into": w.merged_into,
        "updated_at": now,
        "blown_at": w.blown_at,
        "closed_at": w.closed_at,
        "document": json.dumps(whistle_document(w), ensure_ascii=False, separators=(",", ":")),
    }


def _differs(wanted: dict[str, Any], have: Any, names: tuple[str, ...]) -> bool:
    return any(wanted[name] != have[name] for name in names)


def visible(ctx: CallerContext) -> Any:
    """The object-level scope of every whistle query: secretaries and admins by place, a department by its
    summonses, a resident or member by what they raised, the suite itself everything."""
    if ctx.role == "system":
        return true()
    if ctx.role in SECRETARY_ROLES:
        return under(WhistleRow.org_path, ctx.scope_path) if ctx.scope_path else false()
    if ctx.role == "department":
        if not ctx.department_code:
            return false()
        return exists().where(
            WhistleDepartmentRow.whistle_id == WhistleRow.id,
            WhistleDepartmentRow.department_code == ctx.department_code,
        )
    if ctx.role in RAISER_ROLES and ctx.account_id:
        return WhistleRow.raiser_account_id == ctx.account_id
    return false()


@dataclass(frozen=True)
class Stored:
    """What the row holds beside the aggregate: the version a guarded save expects, the title, the last change."""

    version: int
    title: str | None
    updated_at: datetime


def _stored(row: Any) -> Stored:
    return Stored(row.version, row.title, row.updated_at)


_STORED = (WhistleRow.document, WhistleRow.version, WhistleRow.title, WhistleRow.updated_at)
_COLUMNS = tuple(c.name for c in WhistleRow.__table__.columns if c.name not in ("id", "title", "created_at", "version"))
# The statements of every save, built once (a save binds values; it does not build and coerce SQL again).
# Bound names differ from the columns' (SQLAlchemy keeps those for itself in SET clauses).
_SAVE = (
    update(table_of(WhistleRow))
    .where(WhistleRow.id == bindparam("b_id"), WhistleRow.version == bindparam("b_expected"))
    .values({"version": bindparam("b_version"), **{name: bindparam(f"b_{name}") for name in _COLUMNS}})
)
_DEPARTMENT_KEY = ("whistle_id", "department_code")
_DEPARTMENT_VALUES = ("role", "stage", "summoned_at", "reported_in_at", "handled_at", "returned_at", "return_reason")
_CLOCK_VALUES = ("due_at", "next_check_at", "status")


def _keyed_update(table: Any, key: tuple[str, ...], values: tuple[str, ...]) -> Any:
    where = [table.c[name] == bindparam(f"k_{name}") for name in key]
    return update(table).where(*where).values({name: bindparam(f"b_{name}") for name in values})


_DEPARTMENTS = table_of(WhistleDepartmentRow)
_CLOCKS = table_of(WhistleDeadlineRow)
_UPDATE_DEPARTMENT = _keyed_update(_DEPARTMENTS, _DEPARTMENT_KEY, _DEPARTMENT_VALUES)
_UPDATE_CLOCK = _keyed_update(_CLOCKS, ("id",), _CLOCK_VALUES)
_HAVE_DEPARTMENTS = select(*(_DEPARTMENTS.c[n] for n in ("department_code", *_DEPARTMENT_VALUES))).where(
    _DEPARTMENTS.c.whistle_id == bindparam("whistle_id")
)
_HAVE_CLOCKS = select(*(_CLOCKS.c[n] for n in ("id", "department_code", "stage", *_CLOCK_VALUES))).where(
    _CLOCKS.c.whistle_id == bindparam("whistle_id")
)


_ANY_DUE = select(WhistleDeadlineRow.id).where(WhistleDeadlineRow.next_check_at <= bindparam("now")).limit(1)


def department_rows(w: Whistle) -> list[dict[str, Any]]:
    """One row per summoned department (the latest round), for the department's scope and filters."""
    return [
        {
            "whistle_id": w.id,
            "department_code": code,
            "role": str(a.role),
            "stage": str(a.stage),
            "summoned_at": a.summoned_at,
            "reported_in_at": a.reported_in_at,
            "handled_at": a.handled_at,
            "returned_at": a.returned_at,
            "return_reason": a.return_reason,
        }
        for code, a in sorted(w.departments.items())
    ]


class WhistleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, w: Whistle, *, title: str | None, now: datetime, cal: HolidayCalendar) -> None:
        row = {"id": w.id, "title": title, "created_at": w.collected_at, "version": 1, **_columns(w, now)}
        self.session.execute(insert(table_of(WhistleRow)), [row])
        self._sync(w, cal, new=True)

    def get(self, whistle_id: str, ctx: CallerContext, *, for_update: bool = False) -> tuple[Whistle, Stored] | None:
        query = select(*_STORED).where(WhistleRow.id == whistle_id, visible(ctx))
        if for_update:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        if row is None:
            return None
        return whistle_from_document(json.loads(row.document)), _stored(row)

    def save(self, w: Whistle, expected_version: int, *, now: datetime, cal: HolidayCalendar) -> bool:
        """The guarded UPDATE: False (nothing written) when the row moved on since it was read at
        `expected_version`; otherwise the department and clock rows are brought in line with the aggregate."""
        values = {f"b_{name}": value for name, value in _columns(w, now).items()}
        params = {"b_id": w.id, "b_expected": expected_version, "b_version": expected_version + 1, **values}
        result = self.session.execute(_SAVE, params)
        if int(getattr(result, "rowcount", 0) or 0) != 1:
            return False
        self._sync(w, cal, new=False)
        return True

    def _sync(self, w: Whistle, cal: HolidayCalendar, *, new: bool) -> None:
        """Bring the derived rows in line with the aggregate, in place: a row is updated only when it changed
        (a clock row keeps its id, and the timer's index is not churned by rows deleted and inserted again),
        inserted when new and deleted when its department is no longer summoned."""
        wanted_departments = {r["department_code"]: r for r in department_rows(w)}
        wanted_clocks = {(r["department_code"], r["stage"]): r for r in clock_rows(w, cal)}
        if new:
            self._insert(_DEPARTMENTS, list(wanted_departments.values()))
            self._insert(_CLOCKS, list(wanted_clocks.values()))
            return
        have_departments = {
            r.department_code: r._mapping for r in self.session.execute(_HAVE_DEPARTMENTS, {"whistle_id": w.id})
        }
        have_clocks = {
            (r.department_code, r.stage): r._mapping for r in self.session.execute(_HAVE_CLOCKS, {"whistle_id": w.id})
        }
        gone = [code for code in have_departments if code not in wanted_departments]
        if gone:
            self.session.execute(
                delete(_CLOCKS).where(_CLOCKS.c.whistle_id == w.id, _CLOCKS.c.department_code.in_(gone))
            )
            self.session.execute(
                delete(_DEPARTMENTS).where(_DEPARTMENTS.c.whistle_id == w.id, _DEPARTMENTS.c.department_code.in_(gone))
            )
        self._insert(_DEPARTMENTS, [r for code, r in wanted_departments.items() if code not in have_departments])
        self._insert(_CLOCKS, [r for key, r in wanted_clocks.items() if key not in have_clocks])
        changed_departments = [
            {"k_whistle_id": w.id, "k_department_code": code, **{f"b_{n}": r[n] for n in _DEPARTMENT_VALUES}}
            for code, r in wanted_departments.items()
            if code in have_departments and _differs(r, have_departments[code], _DEPARTMENT_VALUES)
        ]
        changed_clocks = [
            {"k_id": have_clocks[key]["id"], **{f"b_{n}": r[n] for n in _CLOCK_VALUES}}
            for key, r in wanted_clocks.items()
            if key in have_clocks and _differs(r, have_clocks[key], _CLOCK_VALUES)
        ]
        if changed_departments:
            self.session.execute(_UPDATE_DEPARTMENT, changed_departments)
        if changed_clocks:
            self.session.execute(_UPDATE_CLOCK, changed_clocks)

    def _insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(table), rows)

    def clocks(self, whistle_id: str) -> list[WhistleDeadlineRow]:
        query = (
            select(WhistleDeadlineRow)
            .where(WhistleDeadlineRow.whistle_id == whistle_id)
            .order_by(WhistleDeadlineRow.department_code, WhistleDeadlineRow.stage)
        )
        return list(self.session.scalars(query))

    def search(
        self, ctx: CallerContext, filters: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[tuple[Whistle, Stored]], str | None]:
        query: Select[Any] = select(WhistleRow).where(visible(ctx))
        for name, column in (
            ("state", WhistleRow.state),
            ("kind", WhistleRow.kind),
            ("street_code", WhistleRow.street_code),
            ("situation_code", WhistleRow.situation_code),
        ):
            if filters.get(name):
                query = query.where(column == str(filters[name]))
        if filters.get("department"):
            query = query.where(
                exists().where(
                    WhistleDepartmentRow.whistle_id == WhistleRow.id,
                    WhistleDepartmentRow.department_code == filters["department"],
                )
            )
        overdue = exists().where(WhistleDeadlineRow.whistle_id == WhistleRow.id, WhistleDeadlineRow.status == "overdue")
        if filters.get("overdue") is True:
            query = query.where(overdue)
        elif filters.get("overdue") is False:
            query = query.where(~overdue)
        if filters.get("created_from") is not None:
            query = query.where(WhistleRow.created_at >= filters["created_from"])
        if filters.get("created_to") is not None:
            query = query.where(WhistleRow.created_at < filters["created_to"])
        rows, next_cursor = page(self.session, query, ORDER, limit=limit, cursor=cursor)
        found = [
            (whistle_from_document(json.loads(r.document)), Stored(r.version, r.title, r.updated_at)) for r in rows
        ]
        return found, next_cursor

    def near(
        self, ctx: CallerContext, w: Whistle, box: tuple[float, float, float, float], window: timedelta, limit: int
    ) -> list[tuple[Whistle, Stored]]:
        """The caller's live whistles of `w`'s situation inside `box` (min lon, min lat, max lon, max lat) and
        within `window` of its collection: the indexed prefilter of duplicate detection, oldest first."""
        query = (
            select(*_STORED)
            .where(
                visible(ctx),
                WhistleRow.id != w.id,
                WhistleRow.situation_code == w.situation_code,
                WhistleRow.state.not_in([str(s) for s in FINAL]),
                WhistleRow.created_at.between(w.collected_at - window, w.collected_at + window),
                WhistleRow.lon.between(box[0], box[2]),
                WhistleRow.lat.between(box[1], box[3]),
            )
            .order_by(*(column.asc() for column, _ in ORDER))
            .limit(limit)
        )
        return [(whistle_from_document(json.loads(r.document)), _stored(r)) for r in self.session.execute(query)]

    # -- the deadline timer's claim ---------------------------------------------------------------------
    def any_due(self, now: datetime) -> bool:
        """Whether any clock's next milestone has come: the timer's look before it opens a writing unit (on
        SQLite, the one writer's lock) for nothing."""
        return self.session.execute(_ANY_DUE, {"now": now}).first() is not None

    def claim_due(self, now: datetime, limit: int, *, skip_locked: bool) -> list[tuple[Whistle, int]]:
        """The whistles with a clock row whose next milestone has come (the indexed `next_check_at <= now`),
        oldest first, each claimed by locking its whistle row; on PostgreSQL a whistle another scan (or a
        command) holds is skipped, for the next run. The lock is the whistle's, not the clock rows': every
        writer of a whistle's clock rows holds its whistle row first, so scans and commands never deadlock
        (two scans locking different clock rows of one whistle would, rewriting them)."""
        due = (
            select(WhistleDeadlineRow.whistle_id, WhistleDeadlineRow.next_check_at)
            .where(WhistleDeadlineRow.next_check_at <= now)
            .order_by(WhistleDeadlineRow.next_check_at, WhistleDeadlineRow.id)
            .limit(limit)
        )
        ids = list(dict.fromkeys(row.whistle_id for row in self.session.execute(due)))
        if not ids:
            return []
        query = select(WhistleRow.document, WhistleRow.version).where(WhistleRow.id.in_(ids)).order_by(WhistleRow.id)
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return [(whistle_from_document(json.loads(r.document)), r.version) for r in self.session.execute(query)]
