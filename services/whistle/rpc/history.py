"""RPC entrypoints of a whistle's history (吹哨全留痕): read in the caller's scope, a few lines each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.context import CallerContext
from kit.entrypoints import rpc
from whistle.app import history

if TYPE_CHECKING:
    from kit.dependencies import Work


class HistoryRpc:
    if TYPE_CHECKING:
        storage: Work

    @rpc
    def whistle_history(self, ctx: CallerContext, whistle_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return history.whistle_history(uow, ctx, whistle_id)

    @rpc
    def verify_whistle_history(self, ctx: CallerContext, whistle_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return history.verify_whistle_history(uow, ctx, whistle_id)
