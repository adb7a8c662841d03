"""Creating many organisation nodes in one transaction (the demo loader, imports): every node goes through the
domain's rules (`OrgNode.create`) and records its `org.created` event, then the rows are written with
executemany instead of one round trip per node."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kit.bulk import insert_many
from kit.context import CallerContext
from kit.uow import UnitOfWork
from organization import handlers
from organization.adapters.orm import OrgRow
from organization.adapters.repository import OrgRepository, node_row
from organization.domain.errors import OrgNotFound
from organization.domain.tree import Level, OrgNode, check_may_create


class TreeBuilder:
    """Nodes built in memory under parents that exist already (`known`) or were built here, then `write()`n."""

    def __init__(self, uow: UnitOfWork, ctx: CallerContext, known: dict[str, OrgNode] | None = None) -> None:
        self.uow = uow
        self.ctx = ctx
        self.nodes: dict[str, OrgNode] = dict(known or {})  # by org_path
        self._children: dict[str, set[str]] = {}  # parent id -> its children's codes
        self.pending: list[OrgNode] = []

    def root(
        self,
        *,
        id: str,
        code: str,
        name: str,
        level: Level,
        now: datetime,
        location: dict[str, Any] | None = None,
    ) -> OrgNode:
        return self._keep(OrgNode.root(id=id, code=code, name=name, level=level, now=now, location=location))

    def add(
        self,
        parent_path: str,
        *,
        id: str,
        code: str,
        name: str,
        level: Level,
        now: datetime,
        location: dict[str, Any] | None = None,
        brand: str | None = None,
    ) -> OrgNode:
        check_may_create(self.ctx.role, level)
        parent = self.nodes.get(parent_path)
        if parent is None or not parent_path.startswith(self.ctx.scope_path):
            raise OrgNotFound(f"no parent at {parent_path}")
        node = OrgNode.create(
            id=id,
            parent=parent,
            code=code,
            name=name,
            level=level,
            now=now,
            sibling_codes=self._sibling_codes(parent),
            location=location,
            brand=brand,
        )
        return self._keep(node)

    def _sibling_codes(self, parent: OrgNode) -> set[str]:
        if parent.id not in self._children:  # a parent that was there before: ask the database once
            self._children[parent.id] = OrgRepository(self.uow.session).sibling_codes(parent.id)
        return self._children[parent.id]

    def _keep(self, node: OrgNode) -> OrgNode:
        self._children[node.id] = set()  # new: no children in the database yet
        if node.parent_id is not None:
            self._children[node.parent_id].add(node.code)
        self.nodes[node.org_path] = node
        self.pending.append(node)
        return node

    def write(self) -> int:
        """Insert the pending nodes (parents first) and hand their events to the unit of work; how many."""
        pending, self.pending = self.pending, []
        pending.sort(key=lambda n: n.depth)
        insert_many(self.uow.session, OrgRow, (node_row(n) for n in pending))
        for node in pending:
            handlers._publish(self.uow, node, "org.create")
        return len(pending)
