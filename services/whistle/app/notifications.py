"""Use cases of notifications: tell people of whistle's own reminder, overdue and escalation events (who is
told follows the event; where, the routing data), and list the delivery log for the district.

`compose` reads what the text needs (the whistle's title, the department's name) and builds the `Notice`;
`send` hands it to the notifier, which skips what the delivery log says went out for this event and raises
`DeliveryFailed` if any send failed, so the handler's retries and DLQ apply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kit.clock import SHANGHAI, as_utc, isoformat_z, parse_iso
from kit.context import CallerContext
from kit.notify import DeliveryResult, Message, Notifier, Recipient
from kit.uow import UnitOfWork
from whistle.adapters.notifications import DeliveryRepository
from whistle.adapters.repositories.catalogue import DepartmentRepository
from whistle.adapters.repositories.whistles import WhistleRepository
from whistle.domain.errors import NotAllowed

REMINDED, OVERDUE, ESCALATED = "whistle.reminded", "whistle.overdue", "whistle.escalated"
EVENT_TYPES = (REMINDED, OVERDUE, ESCALATED)
DESK_ROLE, STREET_SECRETARY, DISTRICT = "department", "street_secretary", "district_admin"
CLOCK_WORDS = {"report_in": "报到", "resolution": "办结"}
LEVEL_WORDS = {"street": "街道", "district": "区"}


@dataclass(frozen=True)
class Notice:
    event_id: str
    event_type: str
    audience: tuple[Recipient, ...]
    message: Message


def audience(event_type: str, data: Mapping[str, Any]) -> tuple[Recipient, ...]:
    """Who an event is for: the summoned department's desk for a reminder or an overdue clock; the street's
    secretary for an escalation to the street, the district for one to the district."""
    street = data.get("street_code")
    if event_type in (REMINDED, OVERDUE):
        return (Recipient(department=data["department"], role=DESK_ROLE, street=street),)
    if event_type == ESCALATED:
        if data.get("level") == "district":
            return (Recipient(role=DISTRICT),)
        return (Recipient(role=STREET_SECRETARY, street=street),)
    raise ValueError(f"no audience for {event_type}")


def _deadline(value: Any) -> str:
    if not value:
        return "—"
    return as_utc(parse_iso(str(value))).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def message(
    event_type: str,
    data: Mapping[str, Any],
    *,
    whistle_id: str,
    title: str,
    department: str,
    street: str,
) -> Message:
    """The text, in Chinese and plain (a robot, an SMS and a mail show it alike): what happened, then the
    situation, the whistle's id, the deadline (Beijing time) and the street."""
    clock = CLOCK_WORDS.get(str(data.get("clock")), str(data.get("clock")))
    if event_type == REMINDED:
        subject = f"【催办】{department}{clock}时限已过{data.get('percent')}%：{title}"
        ask = f"请{department}在时限前{clock}。"
    elif event_type == OVERDUE:
        subject = f"【超时】{department}{clock}已超时：{title}"
        ask = f"{department}{clock}已超过时限，请立即处理。"
    else:
        level = LEVEL_WORDS.get(str(data.get("level")), str(data.get("level")))
        subject = f"【升级·{level}】{department}{clock}超时：{title}"
        ask = f"{department}{clock}超时，已升级至{level}，请督办。"
    body = "\n".join(
        [
            ask,
            f"情形：{title}",
            f"吹哨编号：{whistle_id}",
            f"{clock}时限：{_deadline(data.get('due_at'))}（北京时间）",
            f"街道：{street}",
        ]
    )
    return Message(subject, body)


def compose(uow: UnitOfWork, ctx: CallerContext, event: Mapping[str, Any], street_names: Mapping[str, str]) -> Notice:
    """The notice of one event, its text filled from the whistle and the departments projection."""
    data = event["data"]
    whistle_id = str(event["subject"])
    found = WhistleRepository(uow.session).get(whistle_id, ctx)
    title = (found[1].title if found else None) or str(data.get("situation_code") or "吹哨")
    names = {row.code: row.name for row in DepartmentRepository(uow.session).active()}
    code = str(data.get("department", ""))
    street_code = str(data.get("street_code", ""))
    text = message(
        event["type"],
        data,
        whistle_id=whistle_id,
        title=title,
        department=names.get(code, code),
        street=street_names.get(street_code, street_code),
    )
    return Notice(str(event["id"]), str(event["type"]), audience(event["type"], data), text)


def send(notifier: Notifier, notice: Notice) -> list[DeliveryResult]:
    return notifier.deliver(notice.event_id, notice.event_type, notice.audience, notice.message)


# -- the delivery log ---------------------------------------------------------------------------------------
def list_deliveries(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    """The delivery log, newest first, addresses masked as stored: for the district's admins (and the suite)."""
    if ctx.role not in (DISTRICT, "system"):
        raise NotAllowed(f"a {ctx.role} may not list notification deliveries")
    rows, cursor = DeliveryRepository(uow.session).search(
        query, limit=query.get("limit", 50), cursor=query.get("cursor")
    )
    items = [
        {
            "id": row.id,
            "at": isoformat_z(row.at),
            "event_id": row.event_id,
            "event_type": row.event_type,
            "channel": row.channel,
            "address": row.address,
            "status": row.status,
            "error": row.error,
            "attempts": row.attempts,
        }
        for row in rows
    ]
    return {"items": items, "next_cursor": cursor}
