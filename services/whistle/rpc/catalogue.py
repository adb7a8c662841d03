"""RPC entrypoints of the situation catalogue and the departments projection: load the schema, run the use
case, return the dict; and the handlers of organization's events that keep the projection."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.config import DISTRICT
from kit.context import CallerContext
from kit.entrypoints import handle_event, rpc
from whistle.app import catalogue, departments
from whistle.schemas.catalogue import CataloguePublish, SituationFilter

if TYPE_CHECKING:
    from collections.abc import Callable

    from kit.dependencies import Work

DISTRICT_ONLY = (DISTRICT,)


class CatalogueRpc:
    if TYPE_CHECKING:
        storage: Work

    @rpc
    def list_kinds(self, ctx: CallerContext) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return catalogue.list_kinds(uow, ctx)

    @rpc
    def list_situations(self, ctx: CallerContext, kind: str | None = None, on: str | None = None) -> dict[str, Any]:
        data = SituationFilter().load({"kind": kind, "on": on})
        with self.storage.read(ctx) as uow:
            return catalogue.list_situations(uow, ctx, data)

    @rpc
    def catalogue_version(self, ctx: CallerContext, version: int) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return catalogue.get_catalogue_version(uow, ctx, int(version))

    @rpc
    def publish_catalogue(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        data = CataloguePublish().load(payload)
        return self.storage.command(
            ctx, idempotency_key, "publish_catalogue", payload, lambda uow: catalogue.publish_catalogue(uow, ctx, data)
        )

    @rpc
    def list_departments(self, ctx: CallerContext) -> dict[str, Any]:
        with self.storage.read(ctx) as uow:
            return departments.list_departments(uow, ctx)


class DepartmentEvents:
    """organization's `org.*` events about the `departments` root's children; a department learnt of gets its
    queue (`department_queues`, the service's `DepartmentQueues`). A department lies in no street (organization
    gives a node outside every street the street code `district`), so the handlers take only the district's
    events (and have only those replayed), not every community's and branch's."""

    if TYPE_CHECKING:
        storage: Work
        department_queues: Callable[[list[str]], list[str]]

    def _apply(self, event: dict[str, Any], fn: Any) -> None:
        with self.storage.unit(CallerContext.system(event.get("correlationid"))) as uow:
            fn(uow, event)
            uow.commit()

    @handle_event("organization", "org.created", streets=DISTRICT_ONLY)
    def on_organization_org_created(self, event: dict[str, Any]) -> None:
        self._apply(event, lambda uow, e: departments.on_org_created(uow, e, self.department_queues))

    @handle_event("organization", "org.renamed", streets=DISTRICT_ONLY)
    def on_organization_org_renamed(self, event: dict[str, Any]) -> None:
        self._apply(event, departments.on_org_renamed)

    @handle_event("organization", "org.moved", streets=DISTRICT_ONLY)
    def on_organization_org_moved(self, event: dict[str, Any]) -> None:
        self._apply(event, lambda uow, e: departments.on_org_moved(uow, e, self.department_queues))

    @handle_event("organization", "org.closed", streets=DISTRICT_ONLY)
    def on_organization_org_closed(self, event: dict[str, Any]) -> None:
        self._apply(event, departments.on_org_closed)
