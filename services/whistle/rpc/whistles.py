"""RPC entrypoints of whistles, each a few lines: load the schema, run the use case in an idempotent command,
return the dict; and the deadline timer.

The timer runs in every replica; the use case claims due clock rows in the database (SKIP LOCKED, then a
guarded UPDATE), so each reminder, overdue and escalation is announced once however many replicas scan.
`eager`: a service (re)started after clocks fell due announces them at once, not an interval later."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marshmallow import Schema

from kit.blobs import blob_store, check_key
from kit.context import CallerContext
from kit.entrypoints import ConfiguredTimer, rpc
from kit.logs import get_logger
from whistle.app import whistles
from whistle.schemas.whistles import (
    WhistleAssess,
    WhistleBlow,
    WhistleClose,
    WhistleCreate,
    WhistleExtensionDecision,
    WhistleFeedback,
    WhistleFilter,
    WhistleHandle,
    WhistleMerge,
    WhistlePause,
    WhistleRedispatch,
    WhistleReopen,
    WhistleReportIn,
    WhistleResume,
    WhistleSendBack,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from kit.dependencies import Work
    from kit.uow import UnitOfWork

log = get_logger("whistle.deadlines")
DEADLINE_SCAN_SETTING = "WHISTLE_DEADLINE_SCAN_SECONDS"


class WhistleRpc:
    if TYPE_CHECKING:
        storage: Work

    def _move(
        self,
        ctx: CallerContext,
        name: str,
        schema: Schema,
        whistle_id: str,
        payload: dict[str, Any],
        key: str,
        use_case: Callable[[UnitOfWork, CallerContext, str, dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        data = schema.load(payload)
        return self.storage.command(
            ctx, key, name, [whistle_id, payload], lambda uow: use_case(uow, ctx, whistle_id, data)
        )

    @rpc
    def create_whistle(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        data = WhistleCreate().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "create_whistle", payload, lambda uow: whistles.create_whistle(uow, ctx, data)
        )

    @rpc
    def blow(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(ctx, "blow", WhistleBlow(), whistle_id, payload, idempotency_key, whistles.blow)

    @rpc
    def redispatch(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(
            ctx, "redispatch", WhistleRedispatch(), whistle_id, payload, idempotency_key, whistles.redispatch
        )

    @rpc
    def report_in(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(ctx, "report_in", WhistleReportIn(), whistle_id, payload, idempotency_key, whistles.report_in)

    @rpc
    def send_back(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(ctx, "send_back", WhistleSendBack(), whistle_id, payload, idempotency_key, whistles.send_back)

    @rpc
    def handle(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        blobs = blob_store(self.storage.settings)

        def handle(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
            return whistles.handle(uow, ctx, whistle_id, data, blobs)

        return self._move(ctx, "handle", WhistleHandle(), whistle_id, payload, idempotency_key, handle)

    @rpc
    def get_photo(self, ctx: CallerContext, whistle_id: str, key: str) -> dict[str, Any]:
        check_key(key)
        with self.storage.read(ctx) as uow:
            return whistles.get_photo(uow, ctx, whistle_id, key, blob_store(self.storage.settings))

    @rpc
    def give_feedback(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(
            ctx, "give_feedback", WhistleFeedback(), whistle_id, payload, idempotency_key, whistles.give_feedback
        )

    @rpc
    def assess(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(ctx, "assess", WhistleAssess(), whistle_id, payload, idempotency_key, whistles.assess)

    @rpc
    def close(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(ctx, "close", WhistleClose(), whistle_id, payload, idempotency_key, whistles.close)

    @rpc
    def reopen(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(ctx, "reopen", WhistleReopen(), whistle_id, payload, idempotency_key, whistles.reopen)

    @rpc
    def approve_extension(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        schema = WhistleExtensionDecision()
        return self._move(
            ctx, "approve_extension", schema, whistle_id, payload, idempotency_key, whistles.approve_extension
        )

    @rpc
    def refuse_extension(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        schema = WhistleExtensionDecision()
        return self._move(
            ctx, "refuse_extension", schema, whistle_id, payload, idempotency_key, whistles.refuse_extension
        )

    @rpc
    def pause(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(ctx, "pause", WhistlePause(), whistle_id, payload, idempotency_key, whistles.pause)

    @rpc
    def resume(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(ctx, "resume", WhistleResume(), whistle_id, payload, idempotency_key, whistles.resume)

    @rpc
    def merge(
        self, ctx: CallerContext, whistle_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self._move(ctx, "merge", WhistleMerge(), whistle_id, payload, idempotency_key, whistles.merge)

    @rpc
    def likely_duplicates(self, ctx: CallerContext, whistle_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return whistles.likely_duplicates(uow, ctx, whistle_id)

    @rpc
    def get_whistle(self, ctx: CallerContext, whistle_id: str) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return whistles.get_whistle(uow, ctx, whistle_id)

    @rpc
    def list_whistles(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = WhistleFilter().load(query)
        with self.storage.read(ctx) as uow:
            return whistles.list_whistles(uow, ctx, data)

    @ConfiguredTimer.decorator(setting=DEADLINE_SCAN_SETTING, default=30.0, eager=True)  # type: ignore[untyped-decorator]
    def scan_whistle_deadlines(self) -> int:
        with self.storage.read(CallerContext.system()) as uow:
            if not whistles.deadlines_due(uow):
                return 0
        with self.storage.unit(CallerContext.system()) as uow:
            announced = whistles.scan_deadlines(uow)
            uow.commit()
        if announced:
            log.info("whistle deadlines announced", count=announced)
        return announced
