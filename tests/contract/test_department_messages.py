"""The departments' side of the contract: the commands the example client sends and the answers the suite
gives match the documented messages, and the document names both exchanges."""

import importlib.util
import uuid
from datetime import UTC, datetime

import jsonschema
import pytest

from kit.config import repo_root
from kit.events import DEPARTMENT_COMMANDS_EXCHANGE, DEPARTMENTS_EXCHANGE, Event, envelope
from tests.contract.asyncapi import document, messages_by_type, validate_event

COMMANDS = {
    "report_in": {"note": "on our way"},
    "result": {"summary": "outfall sealed", "evidence": ["https://water.example/p/1.jpg"]},
    "return": {"reason": "a gas leak is not ours"},
    "extension_request": {"requested_due_at": "2026-12-09T10:00:00Z", "reason": "a pump is on order"},
}


def example_client():
    spec = importlib.util.spec_from_file_location("department_client", repo_root() / "examples/department_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command(kind: str, data: dict) -> dict:
    return example_client().command_envelope(
        kind, department="water", whistle_id=str(uuid.uuid4()), street="wujing", org_path="/gd/wujing/c03/", data=data
    )


def test_every_command_the_example_client_sends_matches_its_documented_message():
    for kind, data in COMMANDS.items():
        validate_event(command(kind, data))
    assert {f"department.{kind}" for kind in COMMANDS} == {t for t in messages_by_type() if t.startswith("department.")}


def test_a_broken_command_is_caught():
    with pytest.raises(jsonschema.ValidationError):
        validate_event(command("return", {}))  # no reason
    with pytest.raises(jsonschema.ValidationError):
        validate_event({**command("report_in", {}), "data": {"whistle_id": "not-a-uuid"}})


def answer(verb: str, data: dict) -> dict:
    event = Event(
        type=f"department_command.{verb}",
        subject=data["whistle_id"],
        data=data,
        street_codes=("wujing",),
        org_path="/gd/wujing/c03/",
        time=datetime.now(UTC),
        department_codes=("water",),
    )
    return envelope(event, source_service="whistle", correlation_id=uuid.uuid4().hex)


def test_the_answers_to_commands_match_their_documented_messages():
    sent = command("report_in", {})
    common = {"command_id": sent["id"], "command_type": sent["type"], "department_code": "water"}
    validate_event(answer("accepted", {**common, "whistle_id": sent["subject"]}))
    validate_event(answer("rejected", {**common, "whistle_id": "x", "code": "WHISTLE_NOT_SUMMONED", "reason": "no"}))
    with pytest.raises(jsonschema.ValidationError):
        validate_event(answer("rejected", {**common, "whistle_id": sent["subject"]}))  # no code, no reason


def test_the_document_names_both_departments_exchanges():
    bindings = document()["components"]["channelBindings"]
    names = {b["amqp"]["exchange"]["name"] for b in bindings.values() if "exchange" in b["amqp"]}
    assert {DEPARTMENTS_EXCHANGE, DEPARTMENT_COMMANDS_EXCHANGE} <= names
