"""Entrypoints of notifications: the handlers of whistle's own reminder, overdue and escalation events, each
telling the people the event is for through the configured channels; and the delivery log for the district.

A failed send raises (`DeliveryFailed`), so the kit's retries with backoff, then the DLQ, apply; a retry sends
only what the delivery log does not show as sent. `replay=False`: a first start must not tell people of every
reminder the service ever announced."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.context import CallerContext
from kit.entrypoints import handle_event, rpc
from kit.notify import DatabaseDeliveryLog
from whistle.adapters.notifications import Notifications
from whistle.app import notifications
from whistle.schemas.notifications import DeliveryFilter

if TYPE_CHECKING:
    from kit.dependencies import Work
    from whistle.adapters.notifications import NotifySetup


class NotificationEvents:
    if TYPE_CHECKING:  # nameko injects each worker's dependency in place of the provider
        storage: Work
        notify: NotifySetup
    else:
        notify = Notifications()

    def _tell(self, event: dict[str, Any]) -> None:
        ctx = CallerContext.system(event.get("correlationid"))
        with self.storage.unit(ctx):  # a redelivered copy of a handled event stops here (the inbox)
            pass
        with self.storage.read(ctx) as uow:
            notice = notifications.compose(uow, ctx, event, self.notify.street_names)
        # outside any transaction: the delivery log commits each send on its own, right after it
        notifications.send(self.notify.notifier(DatabaseDeliveryLog(self.storage.db, self.storage.clock)), notice)
        with self.storage.unit(ctx) as uow:  # everything went out: the inbox records the event handled
            uow.commit()

    @handle_event("whistle", "whistle.reminded", replay=False)
    def on_whistle_whistle_reminded(self, event: dict[str, Any]) -> None:
        self._tell(event)

    @handle_event("whistle", "whistle.overdue", replay=False)
    def on_whistle_whistle_overdue(self, event: dict[str, Any]) -> None:
        self._tell(event)

    @handle_event("whistle", "whistle.escalated", replay=False)
    def on_whistle_whistle_escalated(self, event: dict[str, Any]) -> None:
        self._tell(event)

    @rpc
    def list_deliveries(self, ctx: CallerContext, query: dict[str, Any] | None = None) -> dict[str, Any]:
        data = DeliveryFilter().load(query or {})
        with self.storage.read(ctx) as uow:
            return notifications.list_deliveries(uow, ctx, data)
