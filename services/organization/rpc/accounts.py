"""RPC entrypoints of accounts and sessions (log in, refresh, revoke, the gateway's account-state check) and of
account administration."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kit.context import CallerContext, require_system
from kit.dependencies import Work
from kit.entrypoints import rpc
from organization.app import accounts
from organization.domain.accounts import UNKNOWN_SOURCE, LockoutPolicy, SessionPolicy
from organization.schemas.accounts import AccountCreate, AccountDisable, AccountFilter, LoginAttempt, PasswordReset


def _policies(work: Work) -> tuple[LockoutPolicy, SessionPolicy]:
    env = work.settings.extra
    lockout = LockoutPolicy(
        max_failures=int(env.get("AUTH_LOCKOUT_MAX_FAILURES", "5")),
        window=timedelta(seconds=int(env.get("AUTH_LOCKOUT_WINDOW_SECONDS", "900"))),
        lock_for=timedelta(seconds=int(env.get("AUTH_LOCKOUT_SECONDS", "900"))),
    )
    return lockout, SessionPolicy(refresh_ttl=timedelta(days=int(env.get("AUTH_REFRESH_TTL_DAYS", "14"))))


class AccountRpc:
    if TYPE_CHECKING:
        storage: Work

    @rpc
    def authenticate(
        self, ctx: CallerContext, username: str, password: str, source: str = UNKNOWN_SOURCE
    ) -> dict[str, Any]:
        data = LoginAttempt().load({"username": username, "password": password, "source": source})
        lockout, sessions = _policies(self.storage)
        with self.storage.unit(ctx) as uow:
            result = accounts.authenticate(uow, data["username"], data["password"], lockout, sessions, data["source"])
            uow.commit()
            return result

    @rpc
    def refresh_session(self, ctx: CallerContext, refresh_token: str) -> dict[str, Any]:
        _, sessions = _policies(self.storage)
        with self.storage.unit(ctx) as uow:
            result = accounts.refresh_session(uow, refresh_token, sessions)
            uow.commit()
            return result

    @rpc
    def revoke_session(self, ctx: CallerContext, refresh_token: str) -> dict[str, Any]:
        with self.storage.unit(ctx) as uow:
            result = accounts.revoke_session(uow, refresh_token)
            uow.commit()
            return result

    @rpc
    def account_state(self, ctx: CallerContext, account_id: str) -> dict[str, Any]:
        require_system(ctx)
        with self.storage.read(ctx) as uow:
            return accounts.account_state(uow, account_id)

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
                lambda uow: accounts.create_account(uow, ctx, data, issued),
            )
        )

    @rpc
    def get_account(self, ctx: CallerContext, account_id: str) -> Any:
        with self.storage.read(ctx) as uow:
            return accounts.get_account(uow, ctx, account_id)

    @rpc
    def list_accounts(self, ctx: CallerContext, query: dict[str, Any]) -> Any:
        data = AccountFilter().load(query)
        with self.storage.read(ctx) as uow:
            return accounts.list_accounts(uow, ctx, data)

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
            lambda uow: accounts.disable(uow, ctx, account_id, data),
        )

    @rpc
    def enable_account(self, ctx: CallerContext, account_id: str, idempotency_key: str) -> Any:
        return self.storage.command(
            ctx,
            idempotency_key,
            "enable_account",
            [account_id],
            lambda uow: accounts.enable(uow, ctx, account_id),
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
                lambda uow: accounts.reset_password(uow, ctx, account_id, data, issued),
            )
        )
