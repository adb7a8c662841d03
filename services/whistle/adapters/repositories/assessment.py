"""The monthly assessment in and out of the database: the whistles whose departments were summoned in a
span (their aggregates, from which the domain's records come), the month's claim, and its stored figures."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kit.clock import as_utc
from whistle.adapters.orm.assessment import AssessmentMonthRow, MonthlyFiguresRow
from whistle.adapters.orm.whistles import WhistleDepartmentRow, WhistleRow
from whistle.adapters.repositories.whistles import whistle_from_document
from whistle.domain.lifecycle import Whistle

FIGURE_COLUMNS = (
    "rank",
    "ranked_among",
    "summonses",
    "returned",
    "answered",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "average_report_in_hours",
    "average_resolution_hours",
    "average_rating",
    "overdue",
)


class AssessmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- what a month is computed from ------------------------------------------------------------------
    def summoned_between(self, start: datetime, end: datetime) -> list[Whistle]:
        """Every whistle with a department summoned in [start, end) (its latest round, as the aggregate
        holds it). Unscoped on purpose: a ranking is the district's; the use case shows each caller the rows
        their role entitles them to."""
        summoned = exists().where(
            WhistleDepartmentRow.whistle_id == WhistleRow.id,
            WhistleDepartmentRow.summoned_at >= start,
            WhistleDepartmentRow.summoned_at < end,
        )
        query = select(WhistleRow.document).where(summoned).order_by(WhistleRow.id)
        return [whistle_from_document(json.loads(doc)) for doc in self.session.scalars(query)]

    def first_summons(self) -> datetime | None:
        found = self.session.scalar(select(func.min(WhistleDepartmentRow.summoned_at)))
        return None if found is None else as_utc(found)

    # -- the month's claim ------------------------------------------------------------------------------
    def latest_closed(self) -> str | None:
        return self.session.scalar(select(func.max(AssessmentMonthRow.month)))

    def closed(self, month: str) -> AssessmentMonthRow | None:
        return self.session.get(AssessmentMonthRow, month)

    def claim(self, month: str, *, as_of: datetime, now: datetime) -> bool:
        """Insert the month's row unless it is there: True for the one closer whose row landed. On PostgreSQL
        a second closer's insert waits for the first's transaction, then inserts nothing once it committed
        (or claims the month if it rolled back); SQLite serialises writers."""
        dialect = self.session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            make(AssessmentMonthRow)
            .values(month=month, as_of=as_of, closed_at=now, summonses=0, departments=0, streets=0)
            .on_conflict_do_nothing(index_elements=["month"])
        )
        return int(getattr(self.session.execute(statement), "rowcount", 0) or 0) == 1

    def store(self, month: str, rows: Iterable[Mapping[str, Any]], *, summonses: int) -> None:
        """The claimed month's figures, and its row's counts."""
        rows = list(rows)
        if rows:
            self.session.execute(insert(MonthlyFiguresRow), [{"month": month, **row} for row in rows])
        district = [r for r in rows if r["within"] == "district"]
        self.session.execute(
            update(AssessmentMonthRow)
            .where(AssessmentMonthRow.month == month)
            .values(
                summonses=summonses,
                departments=sum(r["group_by"] == "department" for r in district),
                streets=sum(r["group_by"] == "street" for r in district),
            ),
            execution_options={"synchronize_session": False},
        )

    def figures(self, month: str, group_by: str, within: str) -> list[dict[str, Any]]:
        query = (
            select(MonthlyFiguresRow)
            .where(
                MonthlyFiguresRow.month == month,
                MonthlyFiguresRow.group_by == group_by,
                MonthlyFiguresRow.within == within,
            )
            .order_by(MonthlyFiguresRow.rank, MonthlyFiguresRow.key)
        )
        return [
            {"group_by": r.group_by, "within": r.within, "key": r.key, **{c: getattr(r, c) for c in FIGURE_COLUMNS}}
            for r in self.session.scalars(query)
        ]
