"""The catalogue's versions and the departments projection, as the use cases need them."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from whistle.adapters.orm.catalogue import CatalogueVersionRow
from whistle.adapters.orm.departments import DepartmentRow
from whistle.domain.catalogue import CatalogueVersion


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class CatalogueRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def digests(self) -> list[str]:
        """Every version's digest (SHA-256 of its stored document), oldest first."""
        query = select(CatalogueVersionRow.digest).order_by(CatalogueVersionRow.version)
        return list(self.session.scalars(query))

    def text(self, digest: str) -> str:
        """The stored document (JSON text) with this digest."""
        return self.session.scalars(
            select(CatalogueVersionRow.document).where(CatalogueVersionRow.digest == digest)
        ).one()

    def add(self, version: CatalogueVersion, document: dict[str, Any], *, at: datetime, by: str | None) -> None:
        text = json.dumps(document, ensure_ascii=False, default=str)
        self.session.add(
            CatalogueVersionRow(
                version=version.version,
                effective_from=version.effective_from,
                document=text,
                digest=digest_of(text),
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
