"""Repository of the modules each street runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from organization.adapters.orm.modules import StreetModulesRow
from organization.adapters.orm.tree import OrgRow


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
