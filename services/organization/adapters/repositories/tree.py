"""Repository of the organisation tree, every query scoped to the caller's path but one: the city departments,
which every role may list (a secretary summons them; they lie outside every street's scope)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kit.orm import under
from kit.pagination import Order, page
from organization.adapters.orm.tree import OrgRow
from organization.domain.tree import Level, MovePlan, OrgNode

_NODE_FIELDS = (
    "id",
    "code",
    "name",
    "parent_id",
    "org_path",
    "street_code",
    "status",
    "version",
    "created_at",
    "location",
    "brand",
    "closed_at",
)

SORTS: dict[str, Order] = {
    "code": [(OrgRow.org_path, False), (OrgRow.id, False)],
    "-code": [(OrgRow.org_path, True), (OrgRow.id, True)],
    "name": [(OrgRow.name, False), (OrgRow.id, False)],
    "-name": [(OrgRow.name, True), (OrgRow.id, True)],
    "created_at": [(OrgRow.created_at, False), (OrgRow.id, False)],
    "-created_at": [(OrgRow.created_at, True), (OrgRow.id, True)],
}


def to_node(row: OrgRow) -> OrgNode:
    return OrgNode(level=Level(row.level), **{name: getattr(row, name) for name in _NODE_FIELDS})


def node_row(node: OrgNode) -> dict[str, Any]:
    """A node's `org_nodes` row as column values, for bulk inserts (kit.bulk.insert_many)."""
    return {"level": str(node.level), "depth": node.depth, **{name: getattr(node, name) for name in _NODE_FIELDS}}


def in_scope(scope: str) -> Any:
    return under(OrgRow.org_path, scope)


class OrgRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, org_id: str, scope: str, *, for_update: bool = False) -> OrgNode | None:
        query = select(OrgRow).where(OrgRow.id == org_id, in_scope(scope))
        if for_update:
            query = query.with_for_update()
        row = self.session.scalar(query)
        return to_node(row) if row is not None else None

    def get_by_path(self, org_path: str) -> OrgNode | None:
        row = self.session.scalar(select(OrgRow).where(OrgRow.org_path == org_path))
        return to_node(row) if row is not None else None

    def root(self, code: str) -> OrgNode | None:
        return self.get_by_path(f"/{code}/")

    def sibling_codes(self, parent_id: str) -> set[str]:
        return set(self.session.scalars(select(OrgRow.code).where(OrgRow.parent_id == parent_id)))

    def add(self, node: OrgNode) -> None:
        self.session.add(
            OrgRow(level=str(node.level), depth=node.depth, **{name: getattr(node, name) for name in _NODE_FIELDS})
        )
        self.session.flush()  # rows that refer to it (children, accounts) may follow in this transaction

    def save(self, node: OrgNode) -> None:
        """Write back a changed node; the row's version must still be the one the node was loaded at."""
        row = self.session.get(OrgRow, node.id)
        assert row is not None
        row.version = node.version  # the mapper's version column makes the UPDATE fail if someone else won
        for name in ("name", "status", "closed_at", "parent_id", "org_path", "street_code", "location", "brand"):
            setattr(row, name, getattr(node, name))
        row.depth = node.depth
        self.session.flush()

    def move_descendants(self, plan: MovePlan) -> int:
        """Rewrite the paths (and street, depth) of every node strictly below the moved node; how many."""
        below = OrgRow.org_path.startswith(plan.old_path, autoescape=True) & (OrgRow.org_path != plan.old_path)
        values: dict[str, Any] = {
            "org_path": plan.new_path + func.substr(OrgRow.org_path, len(plan.old_path) + 1),
            "depth": OrgRow.depth + plan.depth_delta,
        }
        if plan.new_street_code != plan.old_street_code:
            values["street_code"] = plan.new_street_code
        result = self.session.execute(
            update(OrgRow).where(below).values(**values), execution_options={"synchronize_session": False}
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def active_children(self, org_id: str) -> int:
        return int(
            self.session.scalar(
                select(func.count()).select_from(OrgRow).where(OrgRow.parent_id == org_id, OrgRow.status == "active")
            )
            or 0
        )

    # -- reads ------------------------------------------------------------------------------------------
    def search(
        self, scope: str, filters: dict[str, Any], *, sort: str, limit: int, cursor: str | None
    ) -> tuple[list[OrgNode], str | None]:
        query = select(OrgRow).where(in_scope(scope))
        for name in ("level", "street_code", "status"):
            if filters.get(name):
                query = query.where(getattr(OrgRow, name) == filters[name])
        if filters.get("q"):
            query = query.where(OrgRow.name.contains(filters["q"], autoescape=True))
        if filters.get("parent_id"):
            query = query.where(OrgRow.parent_id == filters["parent_id"])
        rows, next_cursor = page(self.session, query, SORTS[sort], limit=limit, cursor=cursor)
        return [to_node(r) for r in rows], next_cursor

    def departments(self) -> list[OrgNode]:
        """The active city departments, by code. Deliberately unscoped: who may call it is the use case's rule."""
        rows = self.session.scalars(
            select(OrgRow)
            .where(OrgRow.level == str(Level.DEPARTMENT), OrgRow.status == "active")
            .order_by(OrgRow.code, OrgRow.id)
        )
        return [to_node(r) for r in rows]

    def subtree(self, node: OrgNode, depth: int, scope: str) -> list[OrgNode]:
        rows = self.session.scalars(
            select(OrgRow)
            .where(
                OrgRow.org_path.startswith(node.org_path, autoescape=True),
                in_scope(scope),
                OrgRow.depth <= node.depth + depth,
            )
            .order_by(OrgRow.org_path)
        )
        return [to_node(r) for r in rows]

    def ancestors(self, node: OrgNode, scope: str) -> list[OrgNode]:
        parts = node.org_path.strip("/").split("/")
        paths = ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]
        if not paths:
            return []
        rows = self.session.scalars(
            select(OrgRow).where(OrgRow.org_path.in_(paths), in_scope(scope)).order_by(OrgRow.depth)
        )
        return [to_node(r) for r in rows]

    def count_levels(self, node: OrgNode, scope: str) -> dict[str, int]:
        rows = self.session.execute(
            select(OrgRow.level, func.count())
            .where(
                OrgRow.org_path.startswith(node.org_path, autoescape=True), in_scope(scope), OrgRow.status == "active"
            )
            .group_by(OrgRow.level)
        )
        return {level: int(n) for level, n in rows}
