"""Use cases of the organisation tree: create, rename, move and close nodes, read them in the caller's scope, and
build many nodes in one transaction (the demo loader, imports).

They load aggregates through repositories scoped to the caller, let the domain decide, save, and hand the
recorded events to the unit of work; the entrypoint commits (through the kit) before it replies.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from kit.bulk import insert_many
from kit.clock import isoformat_z
from kit.context import CallerContext, require_authenticated
from kit.events import Event
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from organization.adapters.orm.tree import OrgRow
from organization.adapters.repositories.engagement import follow_move
from organization.adapters.repositories.tree import OrgRepository, node_row
from organization.domain.errors import (
    OrgNotFound,
    RootExists,
    StaleVersion,
)
from organization.domain.tree import (
    Level,
    OrgClosed,
    OrgCreated,
    OrgEvent,
    OrgMoved,
    OrgNode,
    OrgRenamed,
    check_may_change,
    check_may_create,
)


# -- wire shapes ---------------------------------------------------------------------------------------
def org_read(node: OrgNode) -> dict[str, Any]:
    return {
        "id": node.id,
        "code": node.code,
        "name": node.name,
        "level": str(node.level),
        "parent_id": node.parent_id,
        "org_path": node.org_path,
        "street_code": node.street_code,
        "location": node.location,
        "brand": node.brand,
        "status": node.status,
        "version": node.version,
        "created_at": isoformat_z(node.created_at),
        "closed_at": isoformat_z(node.closed_at) if node.closed_at else None,
    }


def to_message(event: OrgEvent, now: datetime) -> Event:
    node = event.node
    streets: tuple[str, ...] = (node.street_code,)
    match event:
        case OrgCreated():
            kind = "org.created"
            data = {
                k: v
                for k, v in org_read(node).items()
                if k in ("id", "code", "name", "level", "parent_id", "org_path", "street_code", "location", "brand")
            }
            when = node.created_at
        case OrgRenamed(old_name=old_name):
            kind, when = "org.renamed", now
            data = {"id": node.id, "name": node.name, "old_name": old_name, "org_path": node.org_path}
        case OrgMoved():
            kind, when = "org.moved", now
            data = {
                "id": node.id,
                "old_parent_id": event.old_parent_id,
                "new_parent_id": node.parent_id,
                "old_path": event.old_path,
                "new_path": node.org_path,
                "old_street_code": event.old_street_code,
                "new_street_code": node.street_code,
                "moved_nodes": event.moved_nodes,
            }
            # A subtree moved between streets concerns both: published once for each, with one id.
            streets = tuple(dict.fromkeys((event.old_street_code, node.street_code)))
        case OrgClosed():
            kind, when = "org.closed", node.closed_at or now
            data = {"id": node.id, "org_path": node.org_path, "street_code": node.street_code}
    return Event(type=kind, subject=node.id, data=data, street_codes=streets, org_path=node.org_path, time=when)


def _publish(uow: UnitOfWork, node: OrgNode, action: str) -> None:
    now = uow.clock.now()
    for event in node.events:
        message = to_message(event, now)
        uow.add_event(message)
        uow.audit(action, "org", node.id, message.data)
    node.events.clear()


# -- tree ----------------------------------------------------------------------------------------------
def _load(repo: OrgRepository, ctx: CallerContext, org_id: str, *, for_update: bool = False) -> OrgNode:
    node = repo.get(org_id, ctx.scope_path, for_update=for_update) if is_uuid(org_id) else None
    if node is None:
        raise OrgNotFound("organisation not found")
    return node


def create_root(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    level: Level,
    node_id: str | None = None,
    location: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    if repo.root(code) is not None:
        raise RootExists(f"a root with code {code!r} exists")
    node = OrgNode.root(
        id=node_id or str(uuid.uuid4()),
        code=code,
        name=name,
        level=level,
        now=created_at or uow.clock.now(),
        location=location,
    )
    repo.add(node)
    _publish(uow, node, "org.create")
    return org_read(node)


def create_org(
    uow: UnitOfWork,
    ctx: CallerContext,
    payload: dict[str, Any],
    *,
    node_id: str | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    level = Level(payload["level"])
    check_may_create(ctx.role, level)
    parent = _load(repo, ctx, str(payload["parent_id"]), for_update=True)
    node = OrgNode.create(
        id=node_id or str(uuid.uuid4()),
        parent=parent,
        code=payload["code"],
        name=payload["name"],
        level=level,
        now=created_at or uow.clock.now(),
        sibling_codes=repo.sibling_codes(parent.id),
        location=payload.get("location"),
        brand=payload.get("brand"),
    )
    repo.add(node)
    _publish(uow, node, "org.create")
    return org_read(node)


def rename_org(uow: UnitOfWork, ctx: CallerContext, org_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id)
    check_may_change(ctx.role, node.level)
    node.rename(payload["name"], expected_version=payload["version"])
    _save(repo, node)
    _publish(uow, node, "org.rename")
    return org_read(node)


def move_org(uow: UnitOfWork, ctx: CallerContext, org_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id, for_update=True)
    check_may_change(ctx.role, node.level)
    new_parent = _load(repo, ctx, str(payload["new_parent_id"]), for_update=True)
    plan = node.plan_move(
        new_parent, expected_version=payload["version"], sibling_codes=repo.sibling_codes(new_parent.id)
    )
    if plan.new_path == plan.old_path:
        return org_read(node)
    moved = repo.move_descendants(plan)
    follow_move(uow.session, plan)  # open registrations, memberships and current ratings move with the subtree
    node.apply_move(new_parent, plan, moved_nodes=moved + 1)
    _save(repo, node)
    _publish(uow, node, "org.move")
    return org_read(node)


def close_org(uow: UnitOfWork, ctx: CallerContext, org_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id, for_update=True)
    check_may_change(ctx.role, node.level)
    node.close(expected_version=payload["version"], active_children=repo.active_children(node.id), now=uow.clock.now())
    _save(repo, node)
    _publish(uow, node, "org.close")
    return org_read(node)


def _save(repo: OrgRepository, node: OrgNode) -> None:
    try:
        repo.save(node)
    except StaleDataError:
        raise StaleVersion("someone else changed this node first: reload it and try again") from None


def get_org(uow: UnitOfWork, ctx: CallerContext, org_id: str) -> dict[str, Any]:
    return org_read(_load(OrgRepository(uow.session), ctx, org_id))


def list_orgs(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    nodes, cursor = OrgRepository(uow.session).search(
        ctx.scope_path,
        query,
        sort=query.get("sort", "code"),
        limit=query.get("limit", 50),
        cursor=query.get("cursor"),
    )
    return {"items": [org_read(n) for n in nodes], "next_cursor": cursor}


def list_children(uow: UnitOfWork, ctx: CallerContext, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    parent = _load(repo, ctx, org_id)
    nodes, cursor = repo.search(
        ctx.scope_path, {"parent_id": parent.id}, sort="code", limit=query.get("limit", 50), cursor=query.get("cursor")
    )
    return {"items": [org_read(n) for n in nodes], "next_cursor": cursor}


def get_subtree(uow: UnitOfWork, ctx: CallerContext, org_id: str, depth: int) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    root = _load(repo, ctx, org_id)
    trees: dict[str, dict[str, Any]] = {}
    for node in repo.subtree(root, depth, ctx.scope_path):  # ordered by path: parents come first
        trees[node.id] = {**org_read(node), "children": []}
        if node.id != root.id and node.parent_id in trees:
            trees[node.parent_id]["children"].append(trees[node.id])
    return trees[root.id]


def list_ancestors(uow: UnitOfWork, ctx: CallerContext, org_id: str) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id)
    return {"items": [org_read(n) for n in repo.ancestors(node, ctx.scope_path)]}


def list_departments(uow: UnitOfWork, ctx: CallerContext) -> dict[str, Any]:
    """Every active city department to any authenticated caller: a street secretary summons departments that
    lie outside their scope, so this read is not scoped, and carries no more than a department's name."""
    require_authenticated(ctx)
    return {
        "items": [
            {"id": n.id, "code": n.code, "name": n.name, "org_path": n.org_path}
            for n in OrgRepository(uow.session).departments()
        ]
    }


def count_levels(uow: UnitOfWork, ctx: CallerContext, org_id: str) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id)
    return {"org_id": node.id, "counts": repo.count_levels(node, ctx.scope_path)}


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
            _publish(self.uow, node, "org.create")
        return len(pending)
