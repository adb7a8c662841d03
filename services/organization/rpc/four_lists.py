"""RPC entrypoints of the four lists (四张清单), each a few lines: load the schema, run the use case, return the dict.

The overdue scan runs on a timer in every replica; the use case claims each item in the database, so an item
is announced once however many replicas scan."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.context import CallerContext
from kit.entrypoints import ConfiguredTimer, rpc
from kit.logs import get_logger
from organization.app import four_lists
from organization.schemas.four_lists import (
    FourListFilter,
    FourListItemCreate,
    FourListItemUpdate,
    FourListNoteCreate,
    FourListStatusChange,
)

log = get_logger("organization.four_lists")


OVERDUE_INTERVAL_SETTING = "FOUR_LISTS_OVERDUE_SCAN_SECONDS"


if TYPE_CHECKING:
    from kit.dependencies import Work


class FourListRpc:
    if TYPE_CHECKING:
        storage: Work

    @rpc
    def create_four_list_item(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> Any:
        data = FourListItemCreate().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "create_four_list_item", payload, lambda uow: four_lists.create_item(uow, ctx, data)
        )

    @rpc
    def update_four_list_item(
        self, ctx: CallerContext, item_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> Any:
        data = FourListItemUpdate().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "update_four_list_item",
            [item_id, payload],
            lambda uow: four_lists.edit_item(uow, ctx, item_id, data),
        )

    @rpc
    def change_four_list_status(
        self, ctx: CallerContext, item_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> Any:
        data = FourListStatusChange().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "change_four_list_status",
            [item_id, payload],
            lambda uow: four_lists.change_status(uow, ctx, item_id, data),
        )

    @rpc
    def add_four_list_note(
        self, ctx: CallerContext, item_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> Any:
        data = FourListNoteCreate().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "add_four_list_note",
            [item_id, payload],
            lambda uow: four_lists.add_note(uow, ctx, item_id, data),
        )

    @rpc
    def get_four_list_item(self, ctx: CallerContext, item_id: str) -> Any:
        with self.storage.read(ctx) as uow:
            return four_lists.get_item(uow, ctx, item_id)

    @rpc
    def list_four_list_items(self, ctx: CallerContext, query: dict[str, Any]) -> Any:
        data = FourListFilter().load(query)
        with self.storage.read(ctx) as uow:
            return four_lists.list_items(uow, ctx, data)

    # eager: a service (re)started after items fell due flags them at once, not an interval later
    @ConfiguredTimer.decorator(setting=OVERDUE_INTERVAL_SETTING, default=60.0, eager=True)  # type: ignore[untyped-decorator]
    def flag_overdue_four_list_items(self) -> int:
        with self.storage.unit(CallerContext.system()) as uow:
            flagged = four_lists.scan_overdue(uow)
            uow.commit()
        if flagged:
            log.info("four-list items went overdue", count=flagged)
        return flagged
