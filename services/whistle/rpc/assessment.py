"""RPC entrypoints of the monthly assessment: the figures query, and the timer that closes each month once.

The timer runs in every replica; the use case claims the month by inserting its row, so each month's figures
are stored and published once however many replicas close. `eager`: a service (re)started after a month ended
closes it at once, not an interval later."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.context import CallerContext
from kit.entrypoints import ConfiguredTimer, rpc
from kit.logs import get_logger
from whistle.app import assessment
from whistle.schemas.assessment import WhistleStatsQuery

if TYPE_CHECKING:
    from kit.dependencies import Work

log = get_logger("whistle.assessment")
ASSESSMENT_SCAN_SETTING = "WHISTLE_ASSESSMENT_SCAN_SECONDS"


class AssessmentRpc:
    if TYPE_CHECKING:
        storage: Work

    @rpc
    def whistle_stats(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        data = WhistleStatsQuery().load(query)
        with self.storage.read(ctx) as uow:
            return assessment.whistle_stats(uow, ctx, data)

    @ConfiguredTimer.decorator(setting=ASSESSMENT_SCAN_SETTING, default=600.0, eager=True)  # type: ignore[untyped-decorator]
    def close_whistle_months(self) -> list[str]:
        with self.storage.unit(CallerContext.system()) as uow:
            closed = assessment.close_months(uow)
            uow.commit()
        if closed:
            log.info("whistle months assessed", months=closed)
        return closed
