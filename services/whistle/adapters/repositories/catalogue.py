"""The catalogue's versions and the departments projection, as the use cases need them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from whistle.adapters.orm.catalogue import CatalogueVersionRow
from whistle.adapters.orm.departments import DepartmentRow
from whistle.domain.catalogue import CatalogueVersion


class CatalogueRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def documents(self) -> list[dict[str, Any]]:
        """Every version's document, oldest first."""
        rows = self.session.scalars(select(CatalogueVersionRow).order_by(CatalogueVersionRow.version))
        return [json.loads(r.document) for r in rows]

    def add(self, version: CatalogueVersion, document: dict[str, Any], *, at: datetime, by: str | None) -> None:
        self.session.add(
            CatalogueVersionRow(
                version=version.version,
                effective_from=version.effective_from,
                document=json.dumps(document, ensure_ascii=False, default=str),
                published_at=at,
                published_by=by,
            )
        )
        self.session.flush()


class DepartmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def active_codes(self) -> set[str]:
        return set(self.session.scalars(select(DepartmentRow.code).where(DepartmentRow.active.is_(True))))

    def active(self) -> list[DepartmentRow]:
        query = select(DepartmentRow).where(DepartmentRow.active.is_(True)).order_by(DepartmentRow.code)
        return list(self.session.scalars(query))

    def by_org_id(self, org_id: str) -> DepartmentRow | None:
        return self.session.scalars(select(DepartmentRow).where(DepartmentRow.org_id == org_id)).one_or_none()

    def upsert(self, *, org_id: str, code: str, name: str, org_path: str, active: bool, at: datetime) -> None:
        row = self.session.get(DepartmentRow, code)
        if row is None:
            self.session.add(
                DepartmentRow(code=code, org_id=org_id, name=name, org_path=org_path, active=active, updated_at=at)
            )
        else:
            row.org_id, row.name, row.org_path, row.active, row.updated_at = org_id, name, org_path, active, at
        self.session.flush()
