"""WhistleService: the nameko service of whistles (吹哨报到), composed of one entrypoint class per topic
(`rpc/<topic>.py`); nothing else lives here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kit.dependencies import DepartmentQueues, EventSource, Observability, Storage, Work
from whistle.adapters.gauges import Gauges
from whistle.rpc.assessment import AssessmentRpc
from whistle.rpc.catalogue import CatalogueRpc, DepartmentEvents
from whistle.rpc.commands import DepartmentCommandRpc
from whistle.rpc.history import HistoryRpc
from whistle.rpc.notifications import NotificationEvents
from whistle.rpc.whistles import WhistleRpc


class WhistleService(
    EventSource,
    CatalogueRpc,
    DepartmentEvents,
    WhistleRpc,
    HistoryRpc,
    AssessmentRpc,
    DepartmentCommandRpc,
    NotificationEvents,
):
    name = "whistle"
    if TYPE_CHECKING:  # nameko injects each worker's `Work` in place of the provider
        storage: Work
    else:
        storage = Storage()
    observability = Observability()
    department_queues = DepartmentQueues()  # department.<code>, for each department summoned or summonable
    gauges = Gauges()  # open and overdue whistles on /metrics
