"""OrganizationService: the nameko entrypoints of the organization service, each a few lines.

The source of truth for the organisation tree and for who may act where (accounts, sessions, scope).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kit.context import CallerContext
from kit.dependencies import EventSource, Observability, Storage, Work
from kit.entrypoints import rpc
from kit.errors import ServiceError
from organization import handlers
from organization.domain.accounts import LockoutPolicy, SessionPolicy
from organization.engagement_rpc import EngagementRpc
from organization.lists_rpc import AccountAdminRpc, FourListRpc, StreetModuleRpc
from organization.members_rpc import MemberRpc
from organization.schemas import OrgClose, OrgCreate, OrgFilter, OrgMove, OrgRename, PageQuery, SubtreeQuery


def _policies(work: Work) -> tuple[LockoutPolicy, SessionPolicy]:
    env = work.settings.extra
    lockout = LockoutPolicy(
        max_failures=int(env.get("AUTH_LOCKOUT_MAX_FAILURES", "5")),
        window=timedelta(seconds=int(env.get("AUTH_LOCKOUT_WINDOW_SECONDS", "900"))),
        lock_for=timedelta(seconds=int(env.get("AUTH_LOCKOUT_SECONDS", "900"))),
    )
    return lockout, SessionPolicy(refresh_ttl=timedelta(days=int(env.get("AUTH_REFRESH_TTL_DAYS", "14"))))


def _require_system(ctx: CallerContext) -> None:
    if ctx.role != "system":
        raise ServiceError("forbidden", "SYSTEM_ONLY", "only the suite itself may call this")


class OrganizationService(EventSource, MemberRpc, EngagementRpc, FourListRpc, StreetModuleRpc, AccountAdminRpc):
    name = "organization"
    if TYPE_CHECKING:  # nameko injects each worker's `Work` in place of the provider
        storage: Work
    else:
        storage = Storage()
    observability = Observability()

    # -- the tree ---------------------------------------------------------------------------------------
    @rpc
    def create_org(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        data = OrgCreate().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "create_org", payload, lambda uow: handlers.create_org(uow, ctx, data)
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
            lambda uow: handlers.rename_org(uow, ctx, org_id, data),
        )

    @rpc
    def move_org(
        self, ctx: CallerContext, org_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = OrgMove().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "move_org", [org_id, payload], lambda uow: handlers.move_org(uow, ctx, org_id, data)
        )

    @rpc
    def close_org(
        self, ctx: CallerContext, org_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = OrgClose().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "close_org", [org_id, payload], lambda uow: handlers.close_org(uow, ctx, org_id, data)
        )

    @rpc
    def get_org(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return handlers.get_org(uow, ctx, org_id)

    @rpc
    def list_orgs(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = OrgFilter().load(query)
        with self.storage.read(ctx) as uow:
            return handlers.list_orgs(uow, ctx, data)

    @rpc
    def list_children(self, ctx: CallerContext, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
        data = PageQuery().load(query)
        with self.storage.read(ctx) as uow:
            return handlers.list_children(uow, ctx, org_id, data)

    @rpc
    def get_subtree(self, ctx: CallerContext, org_id: str, depth: int) -> dict[str, Any]:
        data = SubtreeQuery().load({"depth": depth})
        with self.storage.read(ctx) as uow:
            return handlers.get_subtree(uow, ctx, org_id, data["depth"])

    @rpc
    def list_ancestors(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return handlers.list_ancestors(uow, ctx, org_id)

    @rpc
    def count_levels(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return handlers.count_levels(uow, ctx, org_id)

    # -- accounts and sessions ------------------------------------------------------------------------
    @rpc
    def authenticate(self, ctx: CallerContext, username: str, password: str) -> dict[str, Any]:
        lockout, sessions = _policies(self.storage)
        with self.storage.unit(ctx) as uow:
            result = handlers.authenticate(uow, username, password, lockout, sessions)
            uow.commit()
            return result

    @rpc
    def refresh_session(self, ctx: CallerContext, refresh_token: str) -> dict[str, Any]:
        _, sessions = _policies(self.storage)
        with self.storage.unit(ctx) as uow:
            result = handlers.refresh_session(uow, refresh_token, sessions)
            uow.commit()
            return result

    @rpc
    def revoke_session(self, ctx: CallerContext, refresh_token: str) -> dict[str, Any]:
        with self.storage.unit(ctx) as uow:
            result = handlers.revoke_session(uow, refresh_token)
            uow.commit()
            return result

    @rpc
    def account_state(self, ctx: CallerContext, account_id: str) -> dict[str, Any]:
        _require_system(ctx)
        with self.storage.read(ctx) as uow:
            return handlers.account_state(uow, account_id)
