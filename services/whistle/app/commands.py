"""City departments' own systems acting on whistles: their commands (report in, result, return, extension
request) applied through the same use cases as a desk's RPC, and the answer each gets, `department_command.
accepted` or `department_command.rejected`, published for that department (its queue `department.<code>`).

The department is the broker user that published the command (RabbitMQ validated `user_id`), never a field of
the command. It acts as the caller `department_context(code)`: role `department`, its code, and as account the
broker user itself (`water.system`), so the audit trail names the system as the actor and it can never be
mistaken for a person's account (organization's account ids are UUIDs).

A refusal is answered in a transaction of its own, after the attempt's was rolled back: a rejected command
changes nothing but the answer (and the inbox entry, so a repeat is not answered twice)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError

from kit.context import CallerContext
from kit.departments import system_user
from kit.errors import ServiceError, as_service_error
from kit.events import Event
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from whistle.adapters.repositories.whistles import WhistleRepository
from whistle.app import whistles
from whistle.schemas.commands import COMMAND_SCHEMAS

ACCEPTED = "department_command.accepted"
REJECTED = "department_command.rejected"
# What a department hears when the whistle does not exist, is not one it is summoned to, or the id is no id:
# one answer for all, so a system cannot probe other departments' whistles.
NOT_SUMMONED = ServiceError(
    "forbidden", "WHISTLE_NOT_SUMMONED", "no whistle with this id that the department is summoned to"
)
NOT_SUMMONED_CODES = frozenset({"WHISTLE_NOT_FOUND", "WHISTLE_NOT_SUMMONED"})
TRANSIENT_CODES = frozenset({"CONFLICT"})  # another writer won the race: retried, never answered as refused
MAX_REASON = 1000

UseCase = Callable[[UnitOfWork, CallerContext, str, dict[str, Any]], dict[str, Any]]


class UnknownCommand(Exception):
    """A command type the suite does not know: no documented answer fits it, so it fails (retries, then the DLQ
    for ops) instead of being answered."""


class NotADepartment(Exception):
    """A command published by a broker user that is no department's system: nobody to answer."""


def _report_in(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return whistles.report_in(uow, ctx, whistle_id, {})


def _result(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return whistles.handle(uow, ctx, whistle_id, {"result": data["summary"], "evidence": data["evidence"]})


def _return(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return whistles.send_back(uow, ctx, whistle_id, {"reason": data["reason"]})


def _extension_request(uow: UnitOfWork, ctx: CallerContext, whistle_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return whistles.request_extension(
        uow, ctx, whistle_id, {"requested_due_at": data["requested_due_at"], "reason": data["reason"]}
    )


USE_CASES: dict[str, UseCase] = {
    "department.report_in": _report_in,
    "department.result": _result,
    "department.return": _return,
    "department.extension_request": _extension_request,
}


def department_context(user_id: str | None, code: str | None, correlation_id: str) -> CallerContext:
    """The caller a department's system acts as (`code` is `kit.departments.department_of_user(user_id)`)."""
    if code is None or user_id is None:
        raise NotADepartment(f"{user_id!r} is no department's system")
    return CallerContext(
        role="department",
        scope_path=f"/departments/{code}/",
        correlation_id=correlation_id,
        account_id=system_user(code),
        department_code=code,
    )


def handle_command(new_uow: Callable[[], UnitOfWork], ctx: CallerContext, command: dict[str, Any]) -> str:
    """Apply a department's command once and answer it; `accepted` or `rejected`. `new_uow` opens a unit of work
    holding the command's inbox entry (a repeat raises AlreadyHandled on opening it)."""
    kind = command["type"]
    if kind not in USE_CASES:
        raise UnknownCommand(f"not a department command: {kind!r}")
    try:
        with new_uow() as uow:
            data = COMMAND_SCHEMAS[kind]().load(command["data"])
            whistle = USE_CASES[kind](uow, ctx, data["whistle_id"], data)
            _accept(uow, ctx, command, data, whistle)
            uow.commit()
        return "accepted"
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        error = ServiceError("invalid", "VALIDATION_FAILED", "the command's data does not match the contract", messages)
        if "whistle_id" in messages:  # no id is no whistle, as the RPC answers a malformed one
            error = NOT_SUMMONED
    except Exception as exc:
        coded = as_service_error(exc)
        if coded is None or coded.code in TRANSIENT_CODES:
            raise
        error = NOT_SUMMONED if coded.code in NOT_SUMMONED_CODES else coded
    with new_uow() as uow:
        _reject(uow, ctx, command, error)
        uow.commit()
    return "rejected"


def _answer(ctx: CallerContext, command: dict[str, Any], whistle_id: str) -> dict[str, Any]:
    return {
        "command_id": command["id"],
        "command_type": command["type"],
        "whistle_id": whistle_id,
        "department_code": ctx.department_code,
    }


def _publish(uow: UnitOfWork, ctx: CallerContext, kind: str, data: dict[str, Any], street: str, path: str) -> None:
    assert ctx.department_code is not None
    uow.add_event(
        Event(
            type=kind,
            subject=data["whistle_id"],
            data=data,
            street_codes=(street,),
            org_path=path,
            time=uow.clock.now(),
            department_codes=(ctx.department_code,),
        )
    )


def _accept(
    uow: UnitOfWork, ctx: CallerContext, command: dict[str, Any], data: dict[str, Any], whistle: dict[str, Any]
) -> None:
    answer = _answer(ctx, command, whistle["id"])
    _publish(uow, ctx, ACCEPTED, answer, whistle["street_code"], whistle["org_path"])
    # The history says which system's command made the change (and keeps a report-in's note).
    uow.audit(ACCEPTED, "whistle", whistle["id"], {**answer, "data": whistles.wire(data)})


def _reject(uow: UnitOfWork, ctx: CallerContext, command: dict[str, Any], error: ServiceError) -> None:
    named = command["data"].get("whistle_id") if isinstance(command["data"], dict) else None
    whistle_id = named if isinstance(named, str) and named else str(command["subject"])
    # On the whistle's street when the department may see it; otherwise on the department's own node, so the
    # answer says nothing about where (or whether) such a whistle is.
    street, path = "district", ctx.scope_path
    found = WhistleRepository(uow.session).get(whistle_id, ctx) if is_uuid(whistle_id) else None
    if found is not None:
        street, path = found[0].street_code, found[0].org_path
    reason = error.detail
    if error.errors:
        reason += " " + json.dumps(error.errors, ensure_ascii=False, sort_keys=True)
    answer = {**_answer(ctx, command, whistle_id[:100]), "code": error.code, "reason": reason[:MAX_REASON]}
    _publish(uow, ctx, REJECTED, answer, street, path)
