"""The departments projection: organization's city departments (children of the `departments` root; a
department's code is its node's code), kept from organization's `org.*` events. Those events are the one
source of truth: a new handler queue asks organization to replay its kept events on first start (the kit's
EventHandler), so a fresh whistle service learns every department that exists without an RPC at start-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kit.clock import parse_iso
from kit.context import CallerContext, require_authenticated
from kit.uow import UnitOfWork
from whistle.adapters.repositories.catalogue import DepartmentRepository

DEPARTMENTS_ROOT = "departments"
# `DepartmentQueues`: declares `department.<code>` queues. Called before the row commits, so a department the
# projection knows (and a whistle may summon) has a queue for its copies; a broker failure retries the event.
DeclareQueues = Callable[[list[str]], object]

# Each event type has its own queue, so they may arrive in any order (a replay delivers a department's
# creation and its closing to two queues at once): every handler makes the row from the node's path when it is
# not there yet, and a creation arriving after a closing does not reopen it.


def _department_code(org_path: str) -> str | None:
    """`/departments/<code>/` is a department; any other path is not."""
    parts = org_path.strip("/").split("/")
    return parts[1] if len(parts) == 2 and parts[0] == DEPARTMENTS_ROOT else None


def _project(
    uow: UnitOfWork, event: dict[str, Any], path: str, declare: DeclareQueues | None = None, **changes: Any
) -> None:
    code = _department_code(path)
    if code is None:
        return
    repo, data = DepartmentRepository(uow.session), event["data"]
    row = repo.by_org_id(data["id"])
    current: dict[str, Any] = {"code": code, "name": code, "org_path": path, "active": True}
    if row is not None:
        current = {"code": row.code, "name": row.name, "org_path": row.org_path, "active": row.active}
    current.update(changes)
    repo.upsert(org_id=data["id"], at=parse_iso(event["time"]), **current)
    if declare is not None and current["active"]:
        declare([current["code"]])


def on_org_created(uow: UnitOfWork, event: dict[str, Any], declare: DeclareQueues | None = None) -> None:
    data = event["data"]
    _project(uow, event, data["org_path"], declare, code=data["code"], name=data["name"])


def on_org_renamed(uow: UnitOfWork, event: dict[str, Any]) -> None:
    _project(uow, event, event["data"]["org_path"], name=event["data"]["name"])


def on_org_moved(uow: UnitOfWork, event: dict[str, Any], declare: DeclareQueues | None = None) -> None:
    """A department moved away from the root is no longer one; one moved under it becomes one."""
    data = event["data"]
    if _department_code(data["new_path"]) is None:
        _project(uow, event, data["old_path"], active=False)
    else:
        _project(uow, event, data["new_path"], declare, org_path=data["new_path"])


def on_org_closed(uow: UnitOfWork, event: dict[str, Any]) -> None:
    _project(uow, event, event["data"]["org_path"], active=False)


def active_codes(uow: UnitOfWork) -> list[str]:
    """Every active department's code, for declaring their queues at start."""
    return sorted(DepartmentRepository(uow.session).active_codes())


def list_departments(uow: UnitOfWork, ctx: CallerContext) -> dict[str, Any]:
    """The departments a secretary may summon, to any authenticated caller (they lie outside every street's
    scope, and carry no more than a name)."""
    require_authenticated(ctx)
    return {
        "items": [
            {"code": r.code, "name": r.name, "org_id": r.org_id} for r in DepartmentRepository(uow.session).active()
        ]
    }
