"""Notifications at high gear: who each event is for, the text, the shipped routing data (every department
and street reached), the start-up decision on channels the environment does not configure, and a retry that
sends only what failed (fake channels, the in-memory delivery log)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kit.config import Settings
from kit.demo_tree import load_tree
from kit.notify import (
    ALREADY_SENT,
    FAILED,
    SENT,
    DeliveryFailed,
    DeliveryResult,
    MemoryDeliveryLog,
    Message,
    Recipient,
    Routing,
)
from whistle.adapters.notifications import DEFAULT_ROUTING_FILE, NotifySetup, notify_setup
from whistle.app.notifications import Notice, audience, message, send
from whistle.catalogue import DEPARTMENTS

REMINDER = {
    "department": "power",
    "clock": "report_in",
    "percent": 80,
    "due_at": "2026-03-02T02:00:00Z",
    "street_code": "wujing",
}
ALL_CHANNELS = {
    "NOTIFY_SMTP_HOST": "127.0.0.1",
    "NOTIFY_WEBHOOK_URL": "http://127.0.0.1:9/send?key={address}",
    "NOTIFY_SMS_URL": "http://127.0.0.1:9/sms",
}


def settings(**env: str) -> Settings:
    return Settings.from_env("whistle", env)


# -- who, and what they read -------------------------------------------------------------------------------
def test_each_event_is_for_the_desk_the_street_secretary_or_the_district():
    assert audience("whistle.reminded", REMINDER) == (Recipient("power", "department", "wujing"),)
    assert audience("whistle.overdue", REMINDER) == (Recipient("power", "department", "wujing"),)
    street = {**REMINDER, "level": "street"}
    assert audience("whistle.escalated", street) == (Recipient(role="street_secretary", street="wujing"),)
    assert audience("whistle.escalated", {**street, "level": "district"}) == (Recipient(role="district_admin"),)
    with pytest.raises(ValueError, match="no audience"):
        audience("whistle.blown", REMINDER)


def test_the_text_is_plain_chinese_with_situation_id_deadline_in_beijing_time_and_street():
    text = message("whistle.reminded", REMINDER, whistle_id="w-1", title="停电", department="供电局", street="吴井街道")
    assert text.subject == "【催办】供电局报到时限已过80%：停电"
    assert text.body.splitlines() == [
        "请供电局在时限前报到。",
        "情形：停电",
        "吹哨编号：w-1",
        "报到时限：2026-03-02 10:00（北京时间）",
        "街道：吴井街道",
    ]
    district = {**REMINDER, "clock": "resolution", "level": "district"}
    escalated = message("whistle.escalated", district, whistle_id="w-1", title="停电", department="供电局", street="x")
    assert escalated.subject == "【升级·区】供电局办结超时：停电"
    assert "已升级至区" in escalated.body


# -- the shipped routing ------------------------------------------------------------------------------------
def test_the_shipped_routing_reaches_every_department_street_secretary_and_the_district():
    notify = notify_setup(settings(**ALL_CHANNELS))
    targets = notify.routing.targets
    for code in DEPARTMENTS:
        assert targets("whistle.reminded", [Recipient(code, "department", "wujing")]), code
    streets = [street["code"] for street in load_tree()["streets"]]
    for street in streets:
        [mail] = targets("whistle.escalated", [Recipient(role="street_secretary", street=street)])
        assert mail.channel == "email" and mail.address == f"secretary@{street}.gd.example"
        assert street in notify.street_names
    power = targets("whistle.reminded", [Recipient("power", "department", "wujing")])
    assert [(t.channel, t.address) for t in power] == [("webhook", "demo-robot-power"), ("sms", "13800871012")]
    district = targets("whistle.escalated", [Recipient(role="district_admin")])
    assert {t.channel for t in district} == {"email", "sms"}
    assert notify.routing.channels() == {"email", "webhook", "sms"}


def test_an_unconfigured_channel_is_left_out_with_a_warning_and_strict_routing_refuses(caplog):
    with caplog.at_level(logging.WARNING, logger="whistle.notifications"):
        only_robots = notify_setup(settings(NOTIFY_WEBHOOK_URL=ALL_CHANNELS["NOTIFY_WEBHOOK_URL"]))
    assert only_robots.routing.channels() == {"webhook"}
    assert [c.name for c in only_robots.channels] == ["webhook"]
    assert "not configured: ['email', 'sms']" in caplog.text
    assert not only_robots.routing.targets("whistle.escalated", [Recipient(role="district_admin")])

    with caplog.at_level(logging.WARNING, logger="whistle.notifications"):
        silent = notify_setup(settings())  # a development run without channels still starts
    assert silent.routing.rules == () and "reach no one" in caplog.text

    with pytest.raises(RuntimeError, match=r"not configured: \['sms'\].*NOTIFY_STRICT_ROUTING"):
        notify_setup(
            settings(NOTIFY_STRICT_ROUTING="true", **{k: v for k, v in ALL_CHANNELS.items() if "SMS" not in k})
        )


def test_the_routing_file_can_be_replaced_and_a_bad_one_refuses_the_start(tmp_path: Path):
    own = tmp_path / "routing.yaml"
    own.write_text("rules:\n  - {department: water, to: [{channel: sms, address: '13900000000'}]}\n", "utf-8")
    notify = notify_setup(settings(NOTIFY_ROUTING_FILE=str(own), **ALL_CHANNELS))
    assert [t.address for t in notify.routing.targets("whistle.overdue", [Recipient("water", "department")])] == [
        "13900000000"
    ]
    assert notify.street_names == {}
    assert DEFAULT_ROUTING_FILE.exists()
    for content in ("rules:\n  - {to: [{channel: sms, address: '1'}]}\n", "rules: [\n"):
        own.write_text(content, "utf-8")
        with pytest.raises(RuntimeError, match=r"routing .* is unusable"):
            notify_setup(settings(NOTIFY_ROUTING_FILE=str(own), **ALL_CHANNELS))
    with pytest.raises(RuntimeError, match="unusable"):
        notify_setup(settings(NOTIFY_ROUTING_FILE=str(tmp_path / "missing.yaml")))


# -- a retry sends only what failed -------------------------------------------------------------------------
class FakeChannel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.down = False
        self.sent: list[str] = []

    def send(self, address: str, message: Message) -> DeliveryResult:
        if self.down:
            return DeliveryResult(self.name, address, FAILED, "HTTP 503")
        self.sent.append(address)
        return DeliveryResult(self.name, address, SENT)


def test_a_failed_send_raises_and_the_retry_sends_only_that_one():
    robot, sms = FakeChannel("webhook"), FakeChannel("sms")
    data = {
        "rules": [
            {
                "department": "power",
                "to": [{"channel": "webhook", "address": "k"}, {"channel": "sms", "address": "138"}],
            }
        ]
    }
    notifier = NotifySetup((robot, sms), Routing.from_data(data)).notifier(MemoryDeliveryLog())
    notice = Notice("ev-1", "whistle.reminded", audience("whistle.reminded", REMINDER), Message("s", "b"))
    sms.down = True
    with pytest.raises(DeliveryFailed):
        send(notifier, notice)
    sms.down = False
    assert [(r.channel, r.status, r.attempts) for r in send(notifier, notice)] == [
        ("webhook", ALREADY_SENT, 0),
        ("sms", SENT, 2),
    ]
    assert (robot.sent, sms.sent) == (["k"], ["138"])
