"""Entrypoints of city departments' own systems: the handler of their commands on `departments.commands` (the
sender is the broker-validated `user_id`, never the command's say-so), and the timer that keeps every known
department's durable queue `department.<code>` declared, at start (`eager`) and after a broker lost it.

Declaring is idempotent, so the timer may run in every replica."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.context import CallerContext
from kit.departments import department_of_user
from kit.entrypoints import ConfiguredTimer, Delivery, handle_event
from kit.events import DEPARTMENT_COMMANDS_EXCHANGE
from kit.logs import get_logger
from whistle.app import commands, departments

if TYPE_CHECKING:
    from collections.abc import Callable

    from kit.dependencies import Work

log = get_logger("whistle.commands")
QUEUES_SETTING = "WHISTLE_DEPARTMENT_QUEUES_SECONDS"


class DepartmentCommandRpc:
    if TYPE_CHECKING:
        storage: Work
        department_queues: Callable[[list[str]], list[str]]

    @handle_event(
        "departments",
        "department.*",
        exchange=DEPARTMENT_COMMANDS_EXCHANGE,
        replay=False,
        delivery=True,
        require_user_id=True,
    )
    def on_department_command(self, event: dict[str, Any], delivery: Delivery) -> str:
        code = department_of_user(delivery.user_id)
        ctx = commands.department_context(delivery.user_id, code, event["correlationid"])
        outcome = commands.handle_command(lambda: self.storage.unit(ctx), ctx, event)
        log.info("department command", outcome=outcome, department=code, type=event["type"], id=event["id"])
        return outcome

    @ConfiguredTimer.decorator(setting=QUEUES_SETTING, default=600.0, eager=True)  # type: ignore[untyped-decorator]
    def declare_department_queues(self) -> list[str]:
        with self.storage.read(CallerContext.system()) as uow:
            codes = departments.active_codes(uow)
        return self.department_queues(codes) if codes else []
