"""Use cases of street modules: what a street runs (the catalogue's defaults until a district admin decides
otherwise), changing it, and the lookup the gateway uses to gate routes by the caller's street."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kit.context import CallerContext
from kit.errors import ServiceError
from kit.events import Event
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from organization.adapters.repositories.modules import StreetModuleRepository
from organization.adapters.repositories.tree import OrgRepository
from organization.domain.errors import OrgNotFound
from organization.domain.modules import Catalogue, catalogue_from
from organization.domain.tree import Level, OrgNode

CATALOGUE = Path(__file__).parent.parent / "catalogue" / "modules.yaml"


@cache
def catalogue() -> Catalogue:
    return catalogue_from(yaml.safe_load(CATALOGUE.read_text("utf-8")))


def _modules(repo: StreetModuleRepository, street_id: str, street_code: str) -> list[str]:
    chosen = repo.get(street_id)
    return chosen if chosen is not None else catalogue().defaults_for(street_code)


def _street(uow: UnitOfWork, ctx: CallerContext, street_id: str) -> OrgNode:
    node = OrgRepository(uow.session).get(street_id, ctx.scope_path) if is_uuid(street_id) else None
    if node is None or node.level is not Level.STREET:
        raise OrgNotFound("street not found")
    return node


def _read(node: OrgNode, modules: list[str]) -> dict[str, Any]:
    return {
        "street_id": node.id,
        "street_code": node.street_code,
        "name": node.name,
        "brand": node.brand,
        "modules": modules,
        "catalogue": [{"code": m.code, "name": m.name} for m in catalogue().modules],
    }


def get_street_modules(uow: UnitOfWork, ctx: CallerContext, street_id: str) -> dict[str, Any]:
    node = _street(uow, ctx, street_id)
    return _read(node, _modules(StreetModuleRepository(uow.session), node.id, node.street_code))


def set_street_modules(uow: UnitOfWork, ctx: CallerContext, street_id: str, data: dict[str, Any]) -> dict[str, Any]:
    if ctx.role not in ("district_admin", "system"):
        raise ServiceError("forbidden", "MODULES_DISTRICT_ONLY", "only a district admin decides a street's modules")
    node = _street(uow, ctx, street_id)
    modules = catalogue().normalise(data["modules"])
    repo = StreetModuleRepository(uow.session)
    old = _modules(repo, node.id, node.street_code)
    repo.put(node.id, node.street_code, modules, uow.clock.now(), ctx.account_id)
    uow.audit("street.modules", "org", node.id, {"old": old, "new": modules})
    if modules != old:  # the services of a module learn whether a street now runs it (patrol: 六甲 only)
        data = {"street_id": node.id, "street_code": node.street_code, "modules": modules, "previous": old}
        uow.add_event(
            Event(
                type="street_modules.changed",
                subject=node.id,
                data=data,
                street_codes=(node.street_code,),
                org_path=node.org_path,
                time=uow.clock.now(),
            )
        )
    return _read(node, modules)


def load_defaults(uow: UnitOfWork, street_id: str, street_code: str) -> None:
    """Record the catalogue's default modules for a street (the demo loader, a new street's first list)."""
    modules = catalogue().defaults_for(street_code)
    StreetModuleRepository(uow.session).put(street_id, street_code, modules, uow.clock.now(), None)


def modules_for_scope(uow: UnitOfWork, scope_path: str) -> dict[str, Any]:
    """The street a scope lies in and the modules it runs; both None above or outside every street (a
    district admin, a city department), whose callers get every module."""
    repo = StreetModuleRepository(uow.session)
    street = repo.street_above(scope_path)
    if street is None:
        return {"street_code": None, "modules": None}
    return {"street_code": street.street_code, "modules": _modules(repo, street.id, street.street_code)}
