"""RPC entrypoints of street brands and the modules each street runs (一街道一品牌)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.context import CallerContext, require_system
from kit.entrypoints import rpc
from organization.app import modules
from organization.schemas.modules import StreetModulesUpdate

if TYPE_CHECKING:
    from kit.dependencies import Work


class StreetModuleRpc:
    if TYPE_CHECKING:
        storage: Work

    @rpc
    def get_street_modules(self, ctx: CallerContext, street_id: str) -> Any:
        with self.storage.read(ctx) as uow:
            return modules.get_street_modules(uow, ctx, street_id)

    @rpc
    def set_street_modules(
        self, ctx: CallerContext, street_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> Any:
        data = StreetModulesUpdate().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "set_street_modules",
            [street_id, payload],
            lambda uow: modules.set_street_modules(uow, ctx, street_id, data),
        )

    @rpc
    def modules_for_scope(self, ctx: CallerContext, scope_path: str) -> Any:
        """The gateway's question: which street does this scope lie in, and which modules does it run?"""
        require_system(ctx)
        with self.storage.read(ctx) as uow:
            return modules.modules_for_scope(uow, scope_path)
