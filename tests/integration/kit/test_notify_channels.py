"""kit.notify over real network: each channel against a local server the test starts (an SMTP server, an
HTTP server playing a WeCom/DingTalk robot and an SMS gateway), failures included, and the delivery log in a
real database making a retry send only what failed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, select

from kit.clock import SystemClock
from kit.db import Database
from kit.notify import (
    ALREADY_SENT,
    FAILED,
    SENT,
    DatabaseDeliveryLog,
    DeliveryFailed,
    Message,
    Notifier,
    Recipient,
    Routing,
    SmsChannel,
    SmtpChannel,
    WebhookChannel,
)
from kit.orm import DeliveryLogBase, DeliveryRow
from kit.testing import SMTP_TEST_LOGIN, JsonHandler, free_port, local_http_server

MESSAGE = Message("催办：吹哨 W-0001 已过 80% 时限", "吴井社区 排污口 · 水务局请于 2 小时内报到")
SMS_KEY = "sms-api-key-1"


# -- an HTTP server: the robot webhook and the SMS gateway --------------------------------------------------
class Gateway:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.down = False  # the SMS gateway answers 503 while down


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            url = urlsplit(self.path)
            gateway.requests.append((url.path, dict(self.headers), body))
            if url.path == "/cgi-bin/webhook/send":
                key = parse_qs(url.query).get("key", [""])[0]
                if key == "slow":
                    time.sleep(2)
                if key.startswith("good"):
                    self.reply(200, {"errcode": 0, "errmsg": "ok"})
                else:  # WeCom's answer to an unknown key: HTTP 200 with an error code
                    self.reply(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
            elif url.path == "/sms/send":
                if self.headers.get("Authorization") != f"Bearer {SMS_KEY}":
                    self.reply(401, {"error": "bad key"})
                elif gateway.down:
                    self.reply(503, {"error": "busy"})
                else:
                    self.reply(202, {"id": "m-1"})
            elif url.path == "/html":  # a proxy's error page with a 200
                data = b"<html>upstream gone</html>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self.reply(404, {})

    return Handler


@pytest.fixture
def http_server() -> Iterator[tuple[Gateway, str]]:
    gateway = Gateway()
    with local_http_server(_handler(gateway)) as base:
        yield gateway, base


# -- each channel -----------------------------------------------------------------------------------------
def test_smtp_sends_a_utf8_mail_with_login(smtp_server):
    mailbox, port = smtp_server, smtp_server.port
    user, password = SMTP_TEST_LOGIN
    channel = SmtpChannel("127.0.0.1", port, "whistle@gd.example", username=user, password=password, timeout=5)
    result = channel.send("desk@water.example", MESSAGE)
    assert (result.channel, result.status, result.error) == ("email", SENT, None)
    [(sender, recipients, content)] = mailbox.messages
    assert (sender, recipients) == ("whistle@gd.example", ["desk@water.example"])
    mail = message_from_bytes(content, policy=policy.default)
    assert mail["Subject"] == MESSAGE.subject
    assert mail.get_content().strip() == MESSAGE.body


def test_smtp_failures_are_results_without_the_password(smtp_server):
    mailbox, port = smtp_server, smtp_server.port
    # aiosmtpd holds back its answer to failed credentials (against guessing): the timeout ends the wait
    wrong = SmtpChannel("127.0.0.1", port, "w@gd.example", username=SMTP_TEST_LOGIN[0], password="wrong-pw", timeout=1)
    result = wrong.send("desk@water.example", MESSAGE)
    assert result.status == FAILED and result.error
    assert "wrong-pw" not in result.error
    refused = SmtpChannel("127.0.0.1", port, "w@gd.example", timeout=5).send("nobody@water.example", MESSAGE)
    assert refused.status == FAILED and "550" in (refused.error or "")
    closed = SmtpChannel("127.0.0.1", free_port(), "w@gd.example", timeout=5).send("desk@water.example", MESSAGE)
    assert closed.status == FAILED and "Connection" in (closed.error or "")
    assert mailbox.messages == []


def test_smtp_upgrades_with_starttls_verifying_the_relays_certificate(starttls_smtp_server):
    mailbox = starttls_smtp_server
    user, password = SMTP_TEST_LOGIN
    common = {"username": user, "password": password, "timeout": 5}
    channel = SmtpChannel("127.0.0.1", mailbox.port, "w@gd.example", starttls=True, ca_file=mailbox.ca_file, **common)
    assert channel.send("desk@water.example", MESSAGE).status == SENT
    assert [r for _, r, _ in mailbox.messages] == [["desk@water.example"]]
    untrusted = SmtpChannel("127.0.0.1", mailbox.port, "w@gd.example", starttls=True, **common)
    result = untrusted.send("desk@water.example", MESSAGE)
    assert result.status == FAILED and "CERTIFICATE_VERIFY_FAILED" in (result.error or "")
    plain = SmtpChannel("127.0.0.1", mailbox.port, "w@gd.example", **common)  # the relay requires STARTTLS
    assert plain.send("desk@water.example", MESSAGE).status == FAILED
    assert len(mailbox.messages) == 1


def test_the_robot_webhook_posts_text_and_reads_the_error_code(http_server):
    gateway, base = http_server
    channel = WebhookChannel(base + "/cgi-bin/webhook/send?key={address}", timeout=5)
    assert channel.send("good-water", MESSAGE).status == SENT
    [(path, _, body)] = gateway.requests
    assert (path, body) == ("/cgi-bin/webhook/send", {"msgtype": "text", "text": {"content": MESSAGE.text}})
    refused = channel.send("revoked-key", MESSAGE)
    assert (refused.status, refused.error) == (FAILED, "errcode 93000: invalid webhook url")
    missing = WebhookChannel(base + "/nowhere?key={address}", timeout=5).send("good", MESSAGE)
    assert (missing.status, missing.error) == (FAILED, "HTTP 404")
    html = WebhookChannel(base + "/html", timeout=5).send("good", MESSAGE)
    assert (html.status, html.error) == (FAILED, "the reply is not JSON")


def test_a_stuck_webhook_times_out_and_a_closed_port_fails_without_leaking_the_key(http_server):
    _, base = http_server
    started = time.monotonic()
    slow = WebhookChannel(base + "/cgi-bin/webhook/send?key={address}", timeout=0.5).send("slow", MESSAGE)
    assert slow.status == FAILED and "Timeout" in (slow.error or "")
    assert time.monotonic() - started < 1.9
    closed = WebhookChannel(f"http://127.0.0.1:{free_port()}/send?key={{address}}", timeout=2).send("k-secret", MESSAGE)
    assert closed.status == FAILED and "ConnectionError" in (closed.error or "")
    assert "k-secret" not in (closed.error or "")


def test_the_sms_gateway_gets_phone_and_text_and_a_non_2xx_fails(http_server):
    gateway, base = http_server
    channel = SmsChannel(base + "/sms/send", SMS_KEY, timeout=5)
    assert channel.send("13812345678", MESSAGE).status == SENT
    [(_, headers, body)] = gateway.requests
    assert body == {"phone": "13812345678", "text": MESSAGE.text}
    assert headers["Authorization"] == f"Bearer {SMS_KEY}"
    gateway.down = True
    assert (channel.send("13812345678", MESSAGE).error) == "HTTP 503"
    assert SmsChannel(base + "/sms/send", "wrong", timeout=5).send("13812345678", MESSAGE).error == "HTTP 401"


# -- the notifier with the delivery log, all three channels ------------------------------------------------
def test_a_retry_sends_only_what_failed_and_the_log_says_what_happened(smtp_server, http_server, database_url):
    mailbox, port = smtp_server, smtp_server.port
    gateway, base = http_server
    engine = create_engine(database_url)
    DeliveryLogBase.metadata.create_all(engine)
    engine.dispose()
    db = Database(database_url)
    routing = Routing.from_data(
        {
            "rules": [
                {"department": "water", "to": [{"channel": "webhook", "address": "good-water"}]},
                {
                    "role": "street_secretary",
                    "street": "wujing",
                    "to": [
                        {"channel": "sms", "address": "13812345678"},
                        {"channel": "email", "address": "wj@gd.example"},
                    ],
                },
            ]
        }
    )
    channels = [
        SmtpChannel("127.0.0.1", port, "whistle@gd.example", timeout=5),
        WebhookChannel(base + "/cgi-bin/webhook/send?key={address}", timeout=5),
        SmsChannel(base + "/sms/send", SMS_KEY, timeout=5),
    ]
    notify = Notifier(channels, routing, DatabaseDeliveryLog(db, SystemClock()))
    audience = [Recipient(department="water"), Recipient(role="street_secretary", street="wujing")]
    try:
        gateway.down = True
        with pytest.raises(DeliveryFailed) as caught:
            notify.deliver("ev-1", "whistle.escalated", audience, MESSAGE)
        assert [r.channel for r in caught.value.failed] == ["sms"]
        gateway.down = False
        results = notify.deliver("ev-1", "whistle.escalated", audience, MESSAGE)
        assert [(r.channel, r.status) for r in results] == [
            ("webhook", ALREADY_SENT),
            ("sms", SENT),
            ("email", ALREADY_SENT),
        ]
        assert len(mailbox.messages) == 1
        assert [p for p, _, _ in gateway.requests] == ["/cgi-bin/webhook/send", "/sms/send", "/sms/send"]
        with db.session(write=False) as session:
            rows = session.scalars(select(DeliveryRow).order_by(DeliveryRow.id)).all()
            assert [(r.channel, r.address, r.status, r.attempts, r.error) for r in rows] == [
                ("webhook", "good****", SENT, 1, None),
                ("sms", "138****5678", SENT, 2, None),
                ("email", "w***@gd.example", SENT, 1, None),
            ]
            assert {r.event_id for r in rows} == {"ev-1"}
            assert all(r.at.tzinfo is not None for r in rows)
    finally:
        db.dispose()
