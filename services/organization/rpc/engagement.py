"""The RPC entrypoints of dual registration, service reports, alliances and star ratings, mixed into
OrganizationService: load the contract schema, run the use case in a unit of work, return a plain dict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.context import CallerContext
from kit.entrypoints import rpc
from kit.wire import PageQuery
from organization.app import engagement
from organization.schemas.engagement import (
    AllianceFilter,
    AllianceJoin,
    AllianceLeave,
    DualRegistrationCreate,
    DualRegistrationEnd,
    DualRegistrationFilter,
    ServiceReportCreate,
    ServiceReportFilter,
    StarRatingChange,
    StarRatingFilter,
)

if TYPE_CHECKING:
    from kit.dependencies import Work


class EngagementRpc:
    if TYPE_CHECKING:
        storage: Work

    # -- dual registration --------------------------------------------------------------------------------
    @rpc
    def record_dual_registration(
        self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = DualRegistrationCreate().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "record_dual_registration",
            payload,
            lambda uow: engagement.record_dual_registration(uow, ctx, data),
        )

    @rpc
    def end_dual_registration(
        self, ctx: CallerContext, registration_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = DualRegistrationEnd().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "end_dual_registration",
            [registration_id, payload],
            lambda uow: engagement.end_dual_registration(uow, ctx, registration_id, data),
        )

    @rpc
    def get_dual_registration(self, ctx: CallerContext, registration_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return engagement.get_dual_registration(uow, ctx, registration_id)

    @rpc
    def list_dual_registrations(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = DualRegistrationFilter().load(query)
        with self.storage.read(ctx) as uow:
            return engagement.list_dual_registrations(uow, ctx, data)

    # -- service reports ----------------------------------------------------------------------------------
    @rpc
    def record_service_report(
        self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = ServiceReportCreate().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "record_service_report",
            payload,
            lambda uow: engagement.record_service_report(uow, ctx, data),
        )

    @rpc
    def confirm_service_report(self, ctx: CallerContext, report_id: str, idempotency_key: str) -> dict[str, Any]:
        return self.storage.command(
            ctx,
            idempotency_key,
            "confirm_service_report",
            [report_id],
            lambda uow: engagement.confirm_service_report(uow, ctx, report_id),
        )

    @rpc
    def get_service_report(self, ctx: CallerContext, report_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return engagement.get_service_report(uow, ctx, report_id)

    @rpc
    def list_service_reports(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = ServiceReportFilter().load(query)
        with self.storage.read(ctx) as uow:
            return engagement.list_service_reports(uow, ctx, data)

    # -- alliances and big party committees -----------------------------------------------------------------
    @rpc
    def join_alliance(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        data = AllianceJoin().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "join_alliance", payload, lambda uow: engagement.join_alliance(uow, ctx, data)
        )

    @rpc
    def leave_alliance(
        self, ctx: CallerContext, membership_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        data = AllianceLeave().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "leave_alliance",
            [membership_id, payload],
            lambda uow: engagement.leave_alliance(uow, ctx, membership_id, data),
        )

    @rpc
    def get_alliance_membership(self, ctx: CallerContext, membership_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return engagement.get_alliance_membership(uow, ctx, membership_id)

    @rpc
    def list_alliance_memberships(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = AllianceFilter().load(query)
        with self.storage.read(ctx) as uow:
            return engagement.list_alliance_memberships(uow, ctx, data)

    # -- star ratings -------------------------------------------------------------------------------------
    @rpc
    def change_star_rating(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        data = StarRatingChange().load(payload)
        return self.storage.command(
            ctx,
            idempotency_key,
            "change_star_rating",
            payload,
            lambda uow: engagement.change_star_rating(uow, ctx, data),
        )

    @rpc
    def get_star_rating(self, ctx: CallerContext, branch_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return engagement.get_star_rating(uow, ctx, branch_id)

    @rpc
    def star_rating_history(self, ctx: CallerContext, branch_id: str, query: dict[str, Any]) -> dict[str, Any]:
        data = PageQuery().load(query)
        with self.storage.read(ctx) as uow:
            return engagement.star_rating_history(uow, ctx, branch_id, data)

    @rpc
    def list_star_ratings(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = StarRatingFilter().load(query)
        with self.storage.read(ctx) as uow:
            return engagement.list_star_ratings(uow, ctx, data)

    @rpc
    def count_star_ratings(self, ctx: CallerContext) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return engagement.count_star_ratings(uow, ctx)
