"""RPC entrypoints of the four lists, street modules and account administration (mixed into
OrganizationService), each a few lines: load the schema, run the use case, return the dict.

The overdue scan runs on a timer in every replica; the use case claims each item in the database, so an item
is announced once however many replicas scan."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nameko.timer import Timer

from kit.context import CallerContext
from kit.entrypoints import rpc, settings_of
from kit.errors import ServiceError
from kit.logs import get_logger
from organization import accounts_admin, four_lists, street_modules
from organization.schemas_lists import (
    AccountCreate,
    AccountDisable,
    AccountFilter,
    FourListFilter,
    FourListItemCreate,
    FourListItemUpdate,
    FourListNoteCreate,
    FourListStatusChange,
    PasswordReset,
    StreetModulesUpdate,
)

if TYPE_CHECKING:
    from kit.dependencies import Work

log = get_logger("organization.four_lists")
OVERDUE_INTERVAL_SETTING = "FOUR_LISTS_OVERDUE_SCAN_SECONDS"


class ConfiguredTimer(Timer):  # type: ignore[misc]  # nameko is untyped
    """nameko's timer with its interval read from the service's settings (environment) at setup."""

    def __init__(self, setting: str, default: float, **kwargs: Any) -> None:
        self.setting = setting
        self.default = default
        super().__init__(interval=default, **kwargs)

    def setup(self) -> None:
        self.interval = float(settings_of(self.container).extra.get(self.setting, self.default))
        super().setup()


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


class StreetModuleRpc:
    if TYPE_CHECKING:
        storage: Work

    @rpc
    def get_street_modules(self, ctx: CallerContext, street_id: str) -> Any:
        with self.storage.read(ctx) as uow:
            return street_modules.get_street_modules(uow, ctx, street_id)

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
            lambda uow: street_modules.set_street_modules(uow, ctx, street_id, data),
        )

    @rpc
    def modules_for_scope(self, ctx: CallerContext, scope_path: str) -> Any:
        """The gateway's question: which street does this scope lie in, and which modules does it run?"""
        if ctx.role != "system":
            raise ServiceError("forbidden", "SYSTEM_ONLY", "only the suite itself may call this")
        with self.storage.read(ctx) as uow:
            return street_modules.modules_for_scope(uow, scope_path)


class AccountAdminRpc:
    if TYPE_CHECKING:
        storage: Work

    def _with_password(self, run: Any) -> Any:
        """Run a command that may make a temporary password. The password goes back in this reply only: the
        idempotency record keeps the reply without it, so a replay answers `temporary_password: null`."""
        issued: list[str] = []
        result = dict(run(issued))
        result["temporary_password"] = issued[0] if issued else None
        return result

    @rpc
    def create_account(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> Any:
        data = AccountCreate().load(payload)
        return self._with_password(
            lambda issued: self.storage.command(
                ctx,
                idempotency_key,
                "create_account",
                # the request's fingerprint is stored: never a password in it, only whether one was given
                {**{k: v for k, v in payload.items() if k != "password"}, "password_given": "password" in payload},
                lambda uow: accounts_admin.create_account(uow, ctx, data, issued),
            )
        )

    @rpc
    def get_account(self, ctx: CallerContext, account_id: str) -> Any:
        with self.storage.read(ctx) as uow:
            return accounts_admin.get_account(uow, ctx, account_id)

    @rpc
    def list_accounts(self, ctx: CallerContext, query: dict[str, Any]) -> Any:
        data = AccountFilter().load(query)
        with self.storage.read(ctx) as uow:
            return accounts_admin.list_accounts(uow, ctx, data)

    @rpc
    def disable_account(
        self, ctx: CallerContext, account_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> Any:
        data = AccountDisable().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "disable_account",
            [account_id, payload],
            lambda uow: accounts_admin.disable(uow, ctx, account_id, data),
        )

    @rpc
    def enable_account(self, ctx: CallerContext, account_id: str, idempotency_key: str) -> Any:
        return self.storage.command(
            ctx,
            idempotency_key,
            "enable_account",
            [account_id],
            lambda uow: accounts_admin.enable(uow, ctx, account_id),
        )

    @rpc
    def reset_password(self, ctx: CallerContext, account_id: str, payload: dict[str, Any], idempotency_key: str) -> Any:
        data = PasswordReset().load(payload)
        return self._with_password(
            lambda issued: self.storage.command(
                ctx,
                idempotency_key,
                "reset_password",
                # the request's fingerprint is stored: never a password in it, only whether one was given
                [account_id, {"password_given": data.get("password") is not None}],
                lambda uow: accounts_admin.reset_password(uow, ctx, account_id, data, issued),
            )
        )
