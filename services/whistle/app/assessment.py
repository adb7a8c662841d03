"""Use cases of the monthly assessment (一哨一考核): each department's and street's figures of a month and their
ranking, shown to each caller as their role entitles them; and the monthly close, which makes a month's
figures official once (a claimed row) and publishes them as `whistle.month_assessed` for scoring.

A month's figures count its summonses (cut in Asia/Shanghai) and what had happened by the month's end. While a
month is open (or not yet closed) they are computed from the whistles as they stand; once closed, they are the
stored ones, frozen as scoring received them (a later reopen starts a new round and would move live figures)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from kit.clock import SHANGHAI, isoformat_z, local_month
from kit.context import CallerContext
from kit.events import Event
from kit.uow import UnitOfWork
from whistle.adapters.repositories.assessment import AssessmentRepository
from whistle.app.catalogue import calendar
from whistle.domain.assessment import Figures, Record, monthly_figures, ranked
from whistle.domain.errors import NotAllowed

EVENT = "whistle.month_assessed"
DISTRICT = "district"  # `within` of the district-wide rankings (and the street code of district-wide events)
MONTHS_PER_RUN = 24  # a service down for longer catches up over several runs
# summonses, returned, answered, the rates, the averages, overdue: every figure but the group's key and month
FIGURES = tuple(f.name for f in fields(Figures) if f.name not in ("key", "month"))


# -- months ----------------------------------------------------------------------------------------------
def _shift(month: str, by: int) -> str:
    year, number = divmod(int(month[:4]) * 12 + int(month[5:7]) - 1 + by, 12)
    return f"{year:04d}-{number + 1:02d}"


def month_span(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a month cut in Asia/Shanghai, as aware datetimes."""

    def first(m: str) -> datetime:
        return datetime(int(m[:4]), int(m[5:7]), 1, tzinfo=SHANGHAI)

    return first(month), first(_shift(month, 1))


# -- the figures -----------------------------------------------------------------------------------------
def _records(repo: AssessmentRepository, start: datetime, end: datetime) -> tuple[list[Record], dict[str, str]]:
    """The month's records (one per department and whistle), and each street's path (for its events)."""
    cal = calendar()
    whistles = repo.summoned_between(start, end)
    streets = {w.street_code: "/" + "/".join(w.org_path.strip("/").split("/")[:2]) + "/" for w in whistles}
    return [r for w in whistles for r in w.records(cal)], streets


def figure_rows(records: Iterable[Record], month: str, as_of: datetime) -> list[dict[str, Any]]:
    """Every ranking of the month: departments and streets across the district, and each street's
    departments (on that street's whistles); one row per figure set, with its rank and how many were ranked."""
    records = list(records)
    rows: list[dict[str, Any]] = []

    def add(group_by: str, within: str, chosen: list[Record]) -> None:
        ranking = ranked(monthly_figures(chosen, month, as_of, group_by))
        for rank, f in ranking:
            rows.append(
                {
                    "group_by": group_by,
                    "within": within,
                    "key": f.key,
                    "rank": rank,
                    "ranked_among": len(ranking),
                    **{name: asdict(f)[name] for name in FIGURES},
                }
            )

    add("department", DISTRICT, records)
    add("street", DISTRICT, records)
    for street in sorted({r.street_code for r in records}):
        add("department", street, [r for r in records if r.street_code == street])
    return rows


def _street(ctx: CallerContext) -> str:
    parts = ctx.scope_path.strip("/").split("/")
    if len(parts) != 2:
        raise NotAllowed("a street secretary's scope is a street")
    return parts[1]


def _view(ctx: CallerContext, group_by: str) -> tuple[str, Callable[[str], bool]]:
    """Which ranking a caller reads (`within`) and which of its rows: the district admin (and the suite) all
    of the district's; a street secretary their street's row among the streets, or the departments' figures
    on their street's whistles; a department its own row among the departments."""
    if ctx.role in ("district_admin", "system"):
        return DISTRICT, lambda key: True
    if ctx.role == "street_secretary":
        street = _street(ctx)
        if group_by == "street":
            return DISTRICT, lambda key: key == street
        return street, lambda key: True
    if ctx.role == "department" and ctx.department_code and group_by == "department":
        code = ctx.department_code
        return DISTRICT, lambda key: key == code
    raise NotAllowed(f"a {ctx.role} may not read the {group_by} figures")


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {"key": row["key"], "rank": row["rank"], "ranked_among": row["ranked_among"]} | {
        name: row[name] for name in FIGURES
    }


def whistle_stats(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    month, group_by = query["month"], query["group_by"]
    within, shown = _view(ctx, group_by)
    repo = AssessmentRepository(uow.session)
    start, end = month_span(month)
    closed = repo.closed(month)
    if closed is not None:
        rows, as_of = repo.figures(month, group_by, within), closed.as_of
    else:
        as_of = min(uow.clock.now(), end)
        records, _ = _records(repo, start, end) if as_of > start else ([], {})
        rows = [r for r in figure_rows(records, month, as_of) if r["group_by"] == group_by and r["within"] == within]
    return {
        "month": month,
        "group_by": group_by,
        "within": within,
        "final": closed is not None,
        "as_of": isoformat_z(as_of),
        "closed_at": None if closed is None else isoformat_z(closed.closed_at),
        "items": [_item(r) for r in rows if shown(r["key"])],
    }


# -- the monthly close -----------------------------------------------------------------------------------
def close_months(uow: UnitOfWork, limit: int = MONTHS_PER_RUN) -> list[str]:
    """Close every month that has ended and is not closed yet, from the month after the latest closed (or the
    first summons' month) to the previous month in Asia/Shanghai; the months this run closed. Safe with
    several replicas: each month is claimed by inserting its row, which only one closer achieves."""
    repo = AssessmentRepository(uow.session)
    now = uow.clock.now()
    latest = repo.latest_closed()
    if latest is not None:
        month = _shift(latest, 1)
    else:
        first = repo.first_summons()
        if first is None:  # nothing was ever summoned: no month to close (nor to close empty before a load)
            return []
        month = local_month(first)
    last = _shift(local_month(now), -1)
    closed: list[str] = []
    while month <= last and len(closed) < limit:
        if _close(uow, repo, month, now):
            closed.append(month)
        month = _shift(month, 1)
    return closed


def _close(uow: UnitOfWork, repo: AssessmentRepository, month: str, now: datetime) -> bool:
    start, end = month_span(month)
    if not repo.claim(month, as_of=end, now=now):
        return False  # another closer has it
    records, streets = _records(repo, start, end)
    rows = figure_rows(records, month, end)
    district = [r for r in rows if r["within"] == DISTRICT]
    repo.store(month, rows, summonses=sum(r["summonses"] for r in district if r["group_by"] == "department"))
    for row in district:
        key, group_by = row["key"], row["group_by"]
        data = {"month": month, "group_by": group_by, "as_of": isoformat_z(end)} | _item(row)
        department = group_by == "department"
        uow.add_event(
            Event(
                type=EVENT,
                subject=f"{month}/{group_by}/{key}",
                data=data,
                street_codes=(DISTRICT if department else key,),
                org_path=f"/departments/{key}/" if department else streets[key],
                time=now,
                department_codes=(key,) if department else (),
            )
        )
    return True
