"""kit.notify: routing as data, masked addresses, and a notifier that retries only what failed."""

import pytest

from kit.notify import (
    ALREADY_SENT,
    FAILED,
    SENT,
    DeliveryFailed,
    DeliveryResult,
    MemoryDeliveryLog,
    Message,
    Notifier,
    Recipient,
    Routing,
    Target,
    mask_address,
)

ROUTING = {
    "rules": [
        {"department": "water", "to": [{"channel": "webhook", "address": "water-robot-key"}]},
        {
            "department": "water",
            "role": "department_desk",
            "to": [{"channel": "email", "address": "desk@water.example"}],
        },
        {
            "role": "street_secretary",
            "street": "wujing",
            "events": ["whistle.escalated"],
            "to": [{"channel": "sms", "address": 13812345678}, {"channel": "email", "address": "wj@gd.example"}],
        },
        {"role": "district_admin", "to": [{"channel": "email", "address": "desk@water.example"}]},
    ]
}


class FakeChannel:
    def __init__(self, name, failing=()):
        self.name = name
        self.failing = set(failing)
        self.sent = []

    def send(self, address, message):
        self.sent.append((address, message))
        if address in self.failing:
            return DeliveryResult(self.name, address, FAILED, "HTTP 503")
        return DeliveryResult(self.name, address, SENT)


def test_rules_match_on_every_field_they_set_and_targets_come_once_each():
    routing = Routing.from_data(ROUTING)
    assert routing.targets("whistle.reminded", [Recipient(department="water")]) == [
        Target("webhook", "water-robot-key")
    ]
    desk = Recipient(department="water", role="department_desk")
    admin = Recipient(role="district_admin")
    assert routing.targets("whistle.reminded", [desk, admin]) == [
        Target("webhook", "water-robot-key"),
        Target("email", "desk@water.example"),
    ]
    secretary = Recipient(role="street_secretary", street="wujing")
    assert routing.targets("whistle.reminded", [secretary]) == []
    assert routing.targets("whistle.escalated", [secretary]) == [
        Target("sms", "13812345678"),
        Target("email", "wj@gd.example"),
    ]
    assert routing.targets("whistle.escalated", [Recipient(role="street_secretary", street="liujia")]) == []
    assert routing.channels() == {"webhook", "email", "sms"}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([{"to": [{"channel": "sms", "address": "1"}]}], "match everyone"),
        ([{"role": "x", "to": []}], "sends to no one"),
        ([{"role": "x", "to": [{"channel": "sms"}]}], "channel, address"),
        ([{"role": "x", "to": [{"channel": "", "address": "a"}]}], "non-empty"),
        ([{"role": "x", "cc": [], "to": [{"channel": "sms", "address": "1"}]}], "unknown keys"),
        ([{"role": "x", "events": "whistle.blown", "to": [{"channel": "sms", "address": "1"}]}], "list of event"),
        ([{"role": 3, "to": [{"channel": "sms", "address": "1"}]}], "non-empty string"),
        (["role: x"], "not a mapping"),
    ],
)
def test_a_routing_mistake_is_refused_when_loaded(rules, message):
    with pytest.raises(ValueError, match=message):
        Routing.from_data({"rules": rules})


def test_routing_loads_from_yaml(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text("rules:\n  - department: water\n    to:\n      - {channel: webhook, address: k1}\n")
    assert Routing.from_yaml(path).targets("x", [Recipient(department="water")]) == [Target("webhook", "k1")]
    assert Routing.from_data(None).targets("x", [Recipient(department="water")]) == []


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("zhang.san@water.example", "z***@water.example"),
        ("13812345678", "138****5678"),
        ("+8613812345678", "+86****78"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET", "https://qyapi.weixin.qq.com/****"),
        ("693a91f6-7xxx-secret", "693a****"),
        ("ab", "****"),
    ],
)
def test_addresses_are_masked_for_logs(address, shown):
    assert mask_address(address) == shown


def notifier(*failing):
    channels = [FakeChannel("webhook", failing), FakeChannel("email", failing), FakeChannel("sms", failing)]
    return Notifier(channels, Routing.from_data(ROUTING), MemoryDeliveryLog()), channels


def test_a_delivery_reaches_every_target_and_is_logged():
    notify, (webhook, email, _) = notifier()
    audience = [Recipient(department="water", role="department_desk")]
    results = notify.deliver("e-1", "whistle.reminded", audience, Message("提醒", "吹哨 W-1 已过半时限"))
    assert [(r.channel, r.status, r.attempts) for r in results] == [("webhook", SENT, 1), ("email", SENT, 1)]
    assert webhook.sent == [("water-robot-key", Message("提醒", "吹哨 W-1 已过半时限"))]
    assert [a for a, _ in email.sent] == ["desk@water.example"]


def test_a_failed_send_raises_after_trying_all_and_the_retry_sends_only_what_failed():
    notify, (webhook, email, _) = notifier("water-robot-key")
    audience = [Recipient(department="water", role="department_desk")]
    message = Message("提醒", "W-1")
    with pytest.raises(DeliveryFailed) as caught:
        notify.deliver("e-1", "whistle.reminded", audience, message)
    assert [(r.channel, r.error) for r in caught.value.failed] == [("webhook", "HTTP 503")]
    assert "wate****" in str(caught.value) and "water-robot-key" not in str(caught.value)
    assert len(email.sent) == 1
    webhook.failing.clear()
    results = notify.deliver("e-1", "whistle.reminded", audience, message)
    assert [(r.channel, r.status, r.attempts) for r in results] == [("webhook", SENT, 2), ("email", ALREADY_SENT, 0)]
    assert len(email.sent) == 1 and len(webhook.sent) == 2
    # another event is another delivery
    notify.deliver("e-2", "whistle.reminded", audience, message)
    assert len(email.sent) == 2


def test_routing_to_a_channel_that_is_not_configured_is_refused_at_start():
    with pytest.raises(ValueError, match=r"not configured: \['sms'\]"):
        Notifier([FakeChannel("webhook"), FakeChannel("email")], Routing.from_data(ROUTING), MemoryDeliveryLog())


def test_channels_come_from_the_environment():
    from kit.config import Settings
    from kit.notify import SmsChannel, SmtpChannel, WebhookChannel, channels_from_settings

    assert channels_from_settings(Settings.from_env("whistle", {})) == []
    env = {
        "NOTIFY_SMTP_HOST": "relay.gd.example",
        "NOTIFY_SMTP_PORT": "587",
        "NOTIFY_SMTP_STARTTLS": "true",
        "NOTIFY_SMTP_CA_FILE": "/etc/guandu/ca.pem",
        "NOTIFY_WEBHOOK_URL": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={address}",
        "NOTIFY_SMS_URL": "https://sms.gd.example/send",
        "NOTIFY_SMS_API_KEY": "k",
        "NOTIFY_TIMEOUT": "3",
    }
    smtp, webhook, sms = channels_from_settings(Settings.from_env("whistle", env))
    assert isinstance(smtp, SmtpChannel) and isinstance(webhook, WebhookChannel) and isinstance(sms, SmsChannel)
    assert (smtp.name, smtp.port, smtp.starttls, smtp.ca_file, smtp.sender) == (
        "email",
        587,
        True,
        "/etc/guandu/ca.pem",
        "whistle@localhost",
    )
    assert (webhook.name, sms.name, sms.timeout) == ("webhook", "sms", 3.0)
