"""RPC entrypoints of the organisation tree, each a few lines: load the schema, run the use case, return the dict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.context import CallerContext
from kit.entrypoints import rpc
from kit.wire import PageQuery
from organization.app import tree
from organization.schemas.tree import OrgClose, OrgCreate, OrgFilter, OrgMove, OrgRename, SubtreeQuery

if TYPE_CHECKING:
    from kit.dependencies import Work


class TreeRpc:
    if TYPE_CHECKING:
        storage: Work

    @rpc
    def create_org(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        data = OrgCreate().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "create_org", payload, lambda uow: tree.create_org(uow, ctx, data)
        )

    @rpc
    def rename_org(
        self, ctx: CallerContext, org_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = OrgRename().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "rename_org",
            [org_id, payload],
            lambda uow: tree.rename_org(uow, ctx, org_id, data),
        )

    @rpc
    def move_org(
        self, ctx: CallerContext, org_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = OrgMove().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "move_org", [org_id, payload], lambda uow: tree.move_org(uow, ctx, org_id, data)
        )

    @rpc
    def close_org(
        self, ctx: CallerContext, org_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = OrgClose().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "close_org", [org_id, payload], lambda uow: tree.close_org(uow, ctx, org_id, data)
        )

    @rpc
    def get_org(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return tree.get_org(uow, ctx, org_id)

    @rpc
    def list_orgs(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = OrgFilter().load(query)
        with self.storage.read(ctx) as uow:
            return tree.list_orgs(uow, ctx, data)

    @rpc
    def list_children(self, ctx: CallerContext, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
        data = PageQuery().load(query)
        with self.storage.read(ctx) as uow:
            return tree.list_children(uow, ctx, org_id, data)

    @rpc
    def get_subtree(self, ctx: CallerContext, org_id: str, depth: int) -> dict[str, Any]:
        data = SubtreeQuery().load({"depth": depth})
        with self.storage.read(ctx) as uow:
            return tree.get_subtree(uow, ctx, org_id, data["depth"])

    @rpc
    def list_ancestors(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return tree.list_ancestors(uow, ctx, org_id)

    @rpc
    def count_levels(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return tree.count_levels(uow, ctx, org_id)

    @rpc
    def list_departments(self, ctx: CallerContext) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return tree.list_departments(uow, ctx)
