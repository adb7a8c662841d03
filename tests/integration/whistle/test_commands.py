"""City departments' own systems on real RabbitMQ and real databases: the blown whistle waits in the
department's durable queue while its system is offline; the system, connected as its own least-privilege
broker user, reports in, and hears the answer on the same queue; a command for a whistle it is not summoned
to, or one its whistle cannot take, is rejected and changes nothing; a command sent twice is applied once;
one without the broker-validated `user_id` is parked, unapplied."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import amqp
import pytest
from sqlalchemy import func, select

from kit.clock import isoformat_z
from kit.config import repo_root
from kit.db import Database
from kit.departments import system_permissions
from kit.orm import AuditEntry, OutboxRow
from kit.testing import broker_user, queue_depth, wait_for
from tests.contract.asyncapi import validate_event
from tests.integration.whistle.conftest import START, ctx, desk, key

WUJING_C01 = "/gd/wujing/c01/"
RESIDENT = ctx("resident", WUJING_C01, who="李大爷")
SECRETARY = ctx("community_secretary", WUJING_C01)
SYSTEM = ctx("system", "/")


def _example_client() -> Any:
    """examples/department_client.py, as a department runs it (it imports nothing of the suite)."""
    spec = importlib.util.spec_from_file_location("department_client", repo_root() / "examples/department_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


client = _example_client()


class System:
    """A department's system (water's unless told): its connection (as `<code>.system`) and what it has read of
    its queue."""

    def __init__(self, channel: Any, code: str = "water") -> None:
        self.channel = channel
        self.code = code
        self.seen: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        while (message := self.channel.basic_get(f"department.{self.code}", no_ack=True)) is not None:
            self.seen.append(json.loads(message.body))
        return self.seen

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.read() if e["type"] == kind]

    def answers(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        return [e for e in self.read() if e["type"].startswith("department_command.") and
                e["data"]["command_id"] == command["id"]]  # fmt: skip

    def send(self, kind: str, whistle_id: str, data: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        command = client.command_envelope(
            kind, department=self.code, whistle_id=whistle_id, street="wujing", org_path=WUJING_C01, data=data, **kwargs
        )
        client.publish_command(self.channel, command, user_id=f"{self.code}.system")
        return command

    def answer(self, command: dict[str, Any]) -> dict[str, Any]:
        [answer] = wait_for(lambda: self.answers(command), what=f"the answer to {command['type']}")
        validate_event(answer)
        return answer


@pytest.fixture
def water(rpc, amqp_uri) -> Iterator[System]:
    with broker_user(amqp_uri, "water.system", system_permissions("water")) as uri:
        conn = client.connect(uri)
        try:
            yield System(conn.channel())
        finally:
            conn.close()


def test_two_departments_commands_with_one_id_are_each_applied(rpc, amqp_uri, whistle_db, water):
    """A CloudEvent is its source and its id: one system's ids are not another's, so a command whose id another
    department happened (or chose) to use first is still applied, not taken for a repeat."""
    wid = new_whistle(rpc, {})  # sewage_outfall: ecoenv leads, water assists
    with broker_user(amqp_uri, "ecoenv.system", system_permissions("ecoenv")) as uri:
        conn = client.connect(uri)
        try:
            ecoenv = System(conn.channel(), "ecoenv")
            first = water.send("report_in", wid, {"note": "已派人"})
            assert water.answer(first)["type"] == "department_command.accepted"
            same_id = ecoenv.send("report_in", wid, {"note": "已到场"}, command_id=first["id"])
            assert ecoenv.answer(same_id)["type"] == "department_command.accepted"
        finally:
            conn.close()
    assert (stage(rpc, wid, "water"), stage(rpc, wid, "ecoenv")) == ("reported_in", "reported_in")
    assert count(whistle_db, "whistle.reported_in") == 2


def handler(start_whistle) -> Any:
    [container] = start_whistle.containers
    return next(e for e in container.entrypoints if e.method_name == "on_department_command")


def new_whistle(rpc, blow: dict[str, Any]) -> str:
    body = {"description": "雨水井往河里冒污水", "situation_code": "sewage_outfall"}
    wid = rpc.create_whistle(RESIDENT, body, key())["id"]
    rpc.blow(SECRETARY, wid, blow, key())
    return str(wid)


def count(db_url: str, event_type: str, exchange: str = "whistle.events") -> int:
    db = Database(db_url)
    try:
        with db.session(write=False) as session:
            query = select(func.count()).where(OutboxRow.event_type == event_type, OutboxRow.exchange == exchange)
            return int(session.scalar(query) or 0)
    finally:
        db.dispose()


def audited(db_url: str, wid: str, action: str) -> list[tuple[str | None, str, str]]:
    db = Database(db_url)
    try:
        with db.session(write=False) as session:
            query = select(AuditEntry.actor_account_id, AuditEntry.actor_role, AuditEntry.data).where(
                AuditEntry.subject_id == wid, AuditEntry.action == action
            )
            return [tuple(row) for row in session.execute(query)]
    finally:
        db.dispose()


def stage(rpc, wid: str, code: str) -> str:
    whistle = rpc.get_whistle(SYSTEM, wid)
    return next(d["stage"] for d in whistle["departments"] if d["code"] == code)


def test_a_departments_system_reports_in_over_the_broker_once_and_hears_it_was_accepted(
    rpc, amqp_uri, start_whistle, whistle_db, water
):
    # The queues exist before any whistle summons a department (the projection declared them).
    assert queue_depth(amqp_uri, "department.water") == 0
    assert queue_depth(amqp_uri, "department.ecoenv") == 0
    wid = new_whistle(rpc, {})  # sewage_outfall: ecoenv leads, water assists

    # Nobody consumes department.water: the blown copy waits there until the system reads it.
    wait_for(lambda: queue_depth(amqp_uri, "department.water") == 1, what="the blown copy kept for water")
    [blown] = water.of_type("whistle.blown")
    assert blown["subject"] == wid and blown["data"]["summoned"] == ["ecoenv", "water"]

    command = water.send("report_in", wid, {"note": "已派人"}, correlation_id=blown["correlationid"])
    accepted = water.answer(command)
    assert accepted["type"] == "department_command.accepted"
    assert accepted["data"] == {
        "command_id": command["id"],
        "command_type": "department.report_in",
        "whistle_id": wid,
        "department_code": "water",
    }
    assert accepted["subject"] == wid and accepted["streetcode"] == "wujing" and accepted["orgpath"] == WUJING_C01
    assert accepted["correlationid"] == blown["correlationid"]
    whistle = rpc.get_whistle(desk("water"), wid)
    water_row = next(d for d in whistle["departments"] if d["code"] == "water")
    assert water_row["stage"] == "reported_in" and water_row["reported_in_at"] == isoformat_z(START)
    assert water.of_type("whistle.reported_in")[0]["data"]["department"] == "water"

    # Sent again with the same id (a timeout on the system's side): applied once, answered once.
    water.send("report_in", wid, {"note": "已派人"}, command_id=command["id"])
    entry = handler(start_whistle)
    wait_for(lambda: queue_depth(amqp_uri, entry.queue_name) == 0, what="the repeat consumed")
    wait_for(lambda: count(whistle_db, "whistle.reported_in") == 1)
    assert count(whistle_db, "department_command.accepted") == 1
    assert count(whistle_db, "department_command.accepted", exchange="departments") == 1  # water's copy only
    [(actor, role, data)] = audited(whistle_db, wid, "department_command.accepted")
    assert (actor, role) == ("water.system", "department")  # the system, never a person's account
    assert json.loads(data)["data"] == {"whistle_id": wid, "note": "已派人"}
    assert [a[:2] for a in audited(whistle_db, wid, "whistle.reported_in")] == [("water.system", "department")]

    # An extension request names the instant it needs; the resolution clock's request is pending.
    due = next(d["resolution_due"] for d in whistle["departments"] if d["code"] == "water")
    asked = water.send("extension_request", wid, {"requested_due_at": due, "reason": "等配件"})
    refused = water.answer(asked)
    assert (refused["type"], refused["data"]["code"]) == ("department_command.rejected", "WHISTLE_INVALID")
    later = isoformat_z(START + timedelta(days=30))
    assert (
        water.answer(water.send("extension_request", wid, {"requested_due_at": later, "reason": "等配件"}))["type"]
        == "department_command.accepted"
    )
    [requested] = wait_for(lambda: water.of_type("whistle.extension_requested"))
    assert requested["data"]["limit"]["unit"] == "hours" and requested["data"]["reason"] == "等配件"


def test_a_command_the_whistle_cannot_take_is_rejected_and_changes_nothing(rpc, amqp_uri, whistle_db, water):
    elsewhere = new_whistle(rpc, {"lead": "ecoenv", "assisting": []})  # water is not summoned
    before = rpc.get_whistle(SYSTEM, elsewhere)
    for whistle_id in (elsewhere, str(uuid.uuid4()), "not-a-whistle"):  # one answer: nothing to probe with
        rejected = water.answer(water.send("report_in", whistle_id))
        assert rejected["type"] == "department_command.rejected"
        assert rejected["data"]["code"] == "WHISTLE_NOT_SUMMONED" and rejected["data"]["whistle_id"] == whistle_id
        assert rejected["data"]["reason"] == "no whistle with this id that the department is summoned to"
        # on water's own node: the answer says nothing of where that whistle is
        assert (rejected["streetcode"], rejected["orgpath"]) == ("district", "/departments/water/")
    assert rpc.get_whistle(SYSTEM, elsewhere) == before

    mine = new_whistle(rpc, {})  # water assists
    handed = water.answer(water.send("result", mine, {"summary": "已封堵"}))
    assert handed["data"]["code"] == "WHISTLE_NOT_LEAD"  # the lead (ecoenv) hands in the result
    assert (handed["streetcode"], handed["orgpath"]) == ("wujing", WUJING_C01)
    invalid = water.answer(water.send("return", mine, {"reason": ""}))
    assert invalid["data"]["code"] == "VALIDATION_FAILED" and "reason" in invalid["data"]["reason"]
    assert stage(rpc, mine, "water") == "summoned"
    assert water.answer(water.send("report_in", mine))["type"] == "department_command.accepted"
    again = water.answer(water.send("report_in", mine))  # a second report-in, under a new id
    assert again["data"]["code"] == "WHISTLE_INVALID_TRANSITION"
    assert count(whistle_db, "whistle.reported_in") == 1
    assert count(whistle_db, "whistle.handled") == count(whistle_db, "whistle.returned") == 0
    assert count(whistle_db, "department_command.rejected") == 6


def test_a_command_without_the_senders_user_id_is_parked_unapplied(rpc, amqp_uri, start_whistle, whistle_db, water):
    wid = new_whistle(rpc, {})
    command = client.command_envelope(
        "report_in", department="water", whistle_id=wid, street="wujing", org_path=WUJING_C01
    )
    water.channel.basic_publish_confirm(  # as the client does, but without `user_id`
        amqp.Message(json.dumps(command), content_type="application/cloudevents+json", message_id=command["id"]),
        exchange="departments.commands",
        routing_key="department.report_in.wujing",
    )
    entry = handler(start_whistle)
    wait_for(lambda: queue_depth(amqp_uri, entry.dlq_name) == 1, what="the anonymous command parked")
    assert stage(rpc, wid, "water") == "summoned"
    assert count(whistle_db, "department_command.accepted") == count(whistle_db, "department_command.rejected") == 0
    assert water.answers(command) == []
