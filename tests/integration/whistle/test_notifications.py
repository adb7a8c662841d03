"""Reminders and escalations reach people: the whistle service on real RabbitMQ and real databases, its
channels pointed at servers the test starts (an SMTP server; an HTTP server playing the departments' group
robots and an SMS gateway), the shipped routing data, a fixed clock advanced. A failing SMS gateway is retried
until it answers (or the event parked in the DLQ, and replayed), the delivery log shows the attempts, and
nothing goes out twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from kit.dlq import list_dead_letters, replay_dead_letters
from kit.errors import ServiceError
from kit.testing import JsonHandler, Mailbox, local_http_server, wait_for
from tests.integration.whistle.conftest import ctx, key

WUJING_C01 = "/gd/wujing/c01/"
SECRETARY = ctx("community_secretary", WUJING_C01)
DISTRICT = ctx("district_admin", "/gd/")
SMS_KEY = "sms-test-key"
POWER_ROBOT, POWER_PHONE = "demo-robot-power", "13800871012"  # catalogue/notifications.yaml
WUJING_SECRETARY, DISTRICT_MAIL, DISTRICT_PHONE = "secretary@wujing.gd.example", "duban@gd.example", "13800871000"


class Gateways:
    """What the robot webhook and the SMS gateway received (and accepted)."""

    def __init__(self) -> None:
        self.robot: list[tuple[str, str]] = []  # (key, text)
        self.sms: list[tuple[str, str]] = []  # (phone, text), accepted ones only
        self.sms_refused = 0
        self.sms_down = False  # answers 503 while down

    def handler(self) -> type[BaseHTTPRequestHandler]:
        gateways = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                url = urlsplit(self.path)
                if url.path == "/cgi-bin/webhook/send":
                    robot = parse_qs(url.query).get("key", [""])[0]
                    gateways.robot.append((robot, body["text"]["content"]))
                    self.reply(200, {"errcode": 0, "errmsg": "ok"})
                elif url.path == "/sms/send" and self.headers.get("Authorization") == f"Bearer {SMS_KEY}":
                    if gateways.sms_down:
                        gateways.sms_refused += 1
                        self.reply(503, {"error": "busy"})
                    else:
                        gateways.sms.append((body["phone"], body["text"]))
                        self.reply(202, {"id": f"m-{len(gateways.sms)}"})
                else:
                    self.reply(401, {})

        return Handler


@pytest.fixture
def gateways() -> Iterator[tuple[Gateways, str]]:
    found = Gateways()
    with local_http_server(found.handler()) as base:
        yield found, base


@pytest.fixture
def whistle_env(request: pytest.FixtureRequest, smtp_server: Mailbox, gateways: tuple[Gateways, str]) -> dict[str, str]:
    """The whistle containers' channels point at this test's servers; the routing is the shipped one (a test
    may add settings: `parametrize("whistle_env", [{...}], indirect=True)`)."""
    _, base = gateways
    return {
        "NOTIFY_SMTP_HOST": smtp_server.host,
        "NOTIFY_SMTP_PORT": str(smtp_server.port),
        "NOTIFY_SMTP_SENDER": "whistle@gd.example",
        "NOTIFY_WEBHOOK_URL": base + "/cgi-bin/webhook/send?key={address}",
        "NOTIFY_SMS_URL": base + "/sms/send",
        "NOTIFY_SMS_API_KEY": SMS_KEY,
        "NOTIFY_TIMEOUT": "5",
        "HANDLER_BACKOFF_MS": "200",  # retries come quickly ...
        "HANDLER_MAX_ATTEMPTS": "50",  # ... and do not reach the DLQ while the test holds the gateway down
        **getattr(request, "param", {}),
    }


def blow_emergency(rpc: Any) -> str:
    wid = rpc.create_whistle(SECRETARY, {"description": "整栋楼停电，有老人用制氧机"}, key())["id"]
    rpc.blow(SECRETARY, wid, {"situation_code": "power_outage", "assisting": []}, key())  # report in within 1 hour
    return str(wid)


def deliveries(rpc: Any, **query: Any) -> list[dict[str, Any]]:
    return list(rpc.list_deliveries(DISTRICT, {"limit": 100, **query})["items"])


def mails(mailbox: Mailbox) -> list[tuple[list[str], Any]]:
    return [(to, message_from_bytes(content, policy=policy.default)) for _, to, content in mailbox.messages]


def test_the_desk_is_reminded_and_the_street_then_the_district_hear_of_the_escalation_once_each(
    rpc, clock, smtp_server, gateways
):
    found, _ = gateways
    wid = blow_emergency(rpc)

    clock.advance(timedelta(minutes=31))  # past 50% of the report-in hour: the power desk's robot and phone
    wait_for(lambda: found.robot and found.sms, timeout=20, what="the reminder on the robot and by SMS")
    [(robot, text)] = found.robot
    assert robot == POWER_ROBOT
    assert text.startswith("【催办】供电局报到时限已过50%")
    assert f"吹哨编号：{wid}" in text and "街道：吴井街道" in text
    assert "报到时限：2026-03-02 10:00（北京时间）" in text  # blown at 09:00 Beijing time, one hour to report in
    assert [phone for phone, _ in found.sms] == [POWER_PHONE]
    assert smtp_server.messages == []

    clock.advance(timedelta(minutes=30))  # past due: overdue for the desk, escalated to wujing's secretary
    [(to, mail)] = wait_for(lambda: mails(smtp_server), timeout=20, what="the street secretary's e-mail")
    assert to == [WUJING_SECRETARY]
    assert mail["Subject"].startswith("【升级·街道】供电局报到超时")
    assert f"吹哨编号：{wid}" in mail.get_content() and "已升级至街道" in mail.get_content()
    wait_for(lambda: len(found.robot) == 2 and len(found.sms) == 2, timeout=20, what="the overdue notice")
    assert found.robot[1][0] == POWER_ROBOT and found.robot[1][1].startswith("【超时】")

    clock.advance(timedelta(hours=1))  # overdue as long again: the district's mailbox and duty phone
    wait_for(lambda: len(smtp_server.messages) == 2 and len(found.sms) == 3, timeout=20, what="the district")
    assert mails(smtp_server)[1][0] == [DISTRICT_MAIL]
    assert mails(smtp_server)[1][1]["Subject"].startswith("【升级·区】")
    assert found.sms[2][0] == DISTRICT_PHONE

    # every target once, each delivered at the first attempt, addresses masked in the log (each row is written
    # right after its server answered: wait for the last one)
    def all_seven() -> list[dict[str, Any]] | None:
        rows = deliveries(rpc)
        return rows if len(rows) == 7 else None

    log = wait_for(all_seven, timeout=20, what="the seven deliveries in the log")
    assert sorted((d["event_type"], d["channel"], d["address"], d["status"], d["attempts"]) for d in log) == [
        ("whistle.escalated", "email", "d***@gd.example", "sent", 1),
        ("whistle.escalated", "email", "s***@wujing.gd.example", "sent", 1),
        ("whistle.escalated", "sms", "138****1000", "sent", 1),
        ("whistle.overdue", "sms", "138****1012", "sent", 1),
        ("whistle.overdue", "webhook", "demo****", "sent", 1),
        ("whistle.reminded", "sms", "138****1012", "sent", 1),
        ("whistle.reminded", "webhook", "demo****", "sent", 1),
    ]
    assert (len(found.robot), len(found.sms), len(smtp_server.messages)) == (2, 3, 2)
    assert POWER_PHONE not in json.dumps(log)


def test_a_failing_sms_gateway_is_retried_until_it_answers_and_nothing_is_sent_twice(rpc, clock, gateways):
    found, _ = gateways
    found.sms_down = True
    blow_emergency(rpc)
    clock.advance(timedelta(minutes=31))

    def failed_twice() -> list[dict[str, Any]]:
        return [d for d in deliveries(rpc, channel="sms", status="failed") if d["attempts"] >= 2]

    [failed] = wait_for(failed_twice, timeout=20, what="the SMS refused and retried")
    assert (failed["event_type"], failed["error"]) == ("whistle.reminded", "HTTP 503")
    assert [robot for robot, _ in found.robot] == [POWER_ROBOT]  # the robot got it once; retries skip it

    found.sms_down = False
    [sent] = wait_for(lambda: deliveries(rpc, channel="sms", status="sent"), timeout=20, what="the SMS delivered")
    assert sent["event_id"] == failed["event_id"] and sent["error"] is None
    assert sent["attempts"] == found.sms_refused + 1 >= 3  # every attempt counted: the refused ones and this one
    assert [phone for phone, _ in found.sms] == [POWER_PHONE]
    assert [robot for robot, _ in found.robot] == [POWER_ROBOT]
    [webhook] = deliveries(rpc, channel="webhook")
    assert (webhook["status"], webhook["attempts"]) == ("sent", 1)


REMINDER_QUEUE = "whistle.on_whistle_whistle_reminded.shared"


@pytest.mark.parametrize("whistle_env", [{"HANDLER_MAX_ATTEMPTS": "2"}], indirect=True)
def test_a_reminder_that_cannot_go_out_is_parked_and_its_replay_sends_only_what_failed(rpc, clock, gateways, amqp_uri):
    found, _ = gateways
    found.sms_down = True
    blow_emergency(rpc)
    clock.advance(timedelta(minutes=31))
    [letter] = wait_for(lambda: list_dead_letters(amqp_uri, REMINDER_QUEUE), timeout=20, what="the parked reminder")
    assert letter.type == "whistle.reminded" and "DeliveryFailed" in letter.error and "HTTP 503" in letter.error
    assert found.sms_refused == 2 and [robot for robot, _ in found.robot] == [POWER_ROBOT]

    found.sms_down = False
    assert replay_dead_letters(amqp_uri, REMINDER_QUEUE) == 1  # what ops do: python -m kit.dlq replay
    wait_for(lambda: found.sms, timeout=20, what="the SMS after the replay")
    [sms] = wait_for(lambda: deliveries(rpc, channel="sms", status="sent"), timeout=20, what="the log")
    assert sms["attempts"] == 3
    assert [robot for robot, _ in found.robot] == [POWER_ROBOT]  # the robot's message did not go out again


def test_only_the_districts_admins_read_the_delivery_log(rpc):
    for caller in (
        SECRETARY,
        ctx("street_secretary", "/gd/wujing/"),
        ctx("department", "/departments/power/", "power"),
    ):
        with pytest.raises(ServiceError) as refused:
            rpc.list_deliveries(caller, {})
        assert refused.value.code == "WHISTLE_FORBIDDEN"
    assert rpc.list_deliveries(DISTRICT, {}) == {"items": [], "next_cursor": None}
