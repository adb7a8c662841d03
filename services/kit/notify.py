"""Notifications to people (reminders, escalations) through one interface: e-mail over SMTP, a WeCom/DingTalk
style group robot webhook, an SMS gateway's HTTP API; who gets what is routing data, and every delivery is
logged so a handler's retry sends only what has not gone out yet.

A handler calls `Notifier.deliver(...)`; a failed send raises `DeliveryFailed` after the whole audience was
tried, so the kit's `handle_event` retries (with backoff, then the DLQ) and the retry skips the sent ones.
"""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kit.clock import Clock
from kit.config import Settings
from kit.db import Database
from kit.logs import mask_text
from kit.orm import DeliveryRow

log = logging.getLogger("kit.notify")

SENT, FAILED, ALREADY_SENT = "sent", "failed", "already_sent"
DEFAULT_TIMEOUT = 10.0  # seconds, for connecting and for each read: a stuck server fails the send, not the worker


@dataclass(frozen=True)
class Message:
    subject: str
    body: str

    @property
    def text(self) -> str:
        """Subject and body as one text, for channels without a subject line (robots, SMS)."""
        return f"{self.subject}\n{self.body}" if self.subject else self.body


@dataclass(frozen=True)
class DeliveryResult:
    channel: str
    address: str
    status: str  # SENT | FAILED | ALREADY_SENT
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status != FAILED


class Channel(Protocol):
    """One way of reaching people. `send` reports a failure in its result instead of raising."""

    name: str

    def send(self, address: str, message: Message) -> DeliveryResult: ...


class DeliveryFailed(Exception):
    """Some sends failed (and were logged); raised so the event handler's retries and DLQ apply."""

    def __init__(self, failed: Sequence[DeliveryResult]) -> None:
        self.failed = list(failed)
        summary = "; ".join(f"{r.channel} {mask_address(r.address)}: {r.error}" for r in self.failed)
        super().__init__(f"{len(self.failed)} notification(s) failed: {summary}")


# -- masking ------------------------------------------------------------------------------------------------
def mask_address(address: str) -> str:
    """An address as logs and the delivery log show it: `z***@example.org`, `138****5678`, `abcd****` (a robot's
    key), `https://host/****` (a URL, whose path or query may hold a key)."""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if address.startswith(("http://", "https://")):
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.netloc}/****"
    if re.fullmatch(r"\+?\d{7,15}", address):
        masked = mask_text(address)
        return masked if masked != address else address[:3] + "****" + address[-2:]
    return address[:4] + "****" if len(address) > 4 else "****"


def _scrub(text: str, *secrets: str) -> str:
    """An error message without the secrets it may quote (requests puts the URL, key and all, in its errors)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    return mask_text(text)[:500]


# -- channels -----------------------------------------------------------------------------------------------
class SmtpChannel:
    """E-mail through an SMTP relay (plain, or upgraded with STARTTLS and the relay's certificate verified),
    one connection per message."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        ca_file: str | None = None,
        sender_name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        name: str = "email",
    ) -> None:
        self.name = name
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.starttls, self.sender_name, self.timeout = starttls, sender_name, timeout
        self.ca_file = ca_file  # an intranet relay's own CA; the system's CAs otherwise. Never unverified.

    def send(self, address: str, message: Message) -> DeliveryResult:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = formataddr((self.sender_name, self.sender)) if self.sender_name else self.sender
        mail["To"] = address
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(mail, from_addr=self.sender, to_addrs=[address])
        except (smtplib.SMTPException, OSError) as exc:
            error = _scrub(f"{type(exc).__name__}: {exc}", self.password or "")
            return DeliveryResult(self.name, address, FAILED, error)
        if refused:
            return DeliveryResult(self.name, address, FAILED, f"recipient refused: {refused.get(address)}")
        return DeliveryResult(self.name, address, SENT)


class WebhookChannel:
    """A group robot of WeCom (企业微信) or DingTalk (钉钉): POST `{"msgtype": "text", "text": {"content": ...}}`;
    the reply's `errcode` must be 0 (both answer HTTP 200 with an error code when they refuse).

    `url` may hold `{address}`, which the address fills (the robot's key: one robot per department group);
    without it the address only names the target in the log.
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, name: str = "webhook") -> None:
        self.name = name
        self.url = url
        self.timeout = timeout

    def send(self, address: str, message: Message) -> DeliveryResult:
        url = self.url.replace("{address}", address)
        body = {"msgtype": "text", "text": {"content": message.text}}
        try:
            response = requests.post(url, json=body, timeout=(self.timeout, self.timeout))
        except requests.RequestException as exc:
            return DeliveryResult(self.name, address, FAILED, _scrub(f"{type(exc).__name__}: {exc}", url, address))
        if not response.ok:
            return DeliveryResult(self.name, address, FAILED, f"HTTP {response.status_code}")
        try:
            reply = response.json()
        except ValueError:
            return DeliveryResult(self.name, address, FAILED, "the reply is not JSON")
        code = reply.get("errcode") if isinstance(reply, dict) else None
        if code != 0:
            detail = reply.get("errmsg", "") if isinstance(reply, dict) else ""
            return DeliveryResult(self.name, address, FAILED, _scrub(f"errcode {code}: {detail}", address))
        return DeliveryResult(self.name, address, SENT)


class SmsChannel:
    """An SMS gateway's HTTP API: POST `{"phone": ..., "text": ...}` with a bearer API key; any 2xx is accepted."""

    def __init__(self, url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT, name: str = "sms") -> None:
        self.name = name
        self.url = url
        self.api_key = api_key
        self.timeout = timeout

    def send(self, address: str, message: Message) -> DeliveryResult:
        try:
            response = requests.post(
                self.url,
                json={"phone": address, "text": message.text},
                headers={"Authorization": f"Bearer {self.api_key}"},
                timeout=(self.timeout, self.timeout),
            )
        except requests.RequestException as exc:
            return DeliveryResult(self.name, address, FAILED, _scrub(f"{type(exc).__name__}: {exc}", self.api_key))
        if not 200 <= response.status_code < 300:
            return DeliveryResult(self.name, address, FAILED, f"HTTP {response.status_code}")
        return DeliveryResult(self.name, address, SENT)


# -- routing (data) -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    """Who an event concerns: a department, a role, a street, or a combination (the water desk, the secretary
    of wujing street)."""

    department: str | None = None
    role: str | None = None
    street: str | None = None


@dataclass(frozen=True)
class Target:
    channel: str
    address: str


@dataclass(frozen=True)
class Rule:
    """Recipients matching every field the rule sets get `to`; `events` (if set) limits it to those types."""

    to: tuple[Target, ...]
    department: str | None = None
    role: str | None = None
    street: str | None = None
    events: frozenset[str] | None = None

    def matches(self, event_type: str, recipient: Recipient) -> bool:
        if self.events is not None and event_type not in self.events:
            return False
        return all(
            wanted is None or wanted == got
            for wanted, got in (
                (self.department, recipient.department),
                (self.role, recipient.role),
                (self.street, recipient.street),
            )
        )


@dataclass(frozen=True)
class Routing:
    """Who is reached where, as data (YAML in production): `rules:` of `department`/`role`/`street`, optional
    `events`, and `to:` a list of `{channel, address}`."""

    rules: tuple[Rule, ...] = field(default_factory=tuple)

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> Routing:
        rules = []
        for n, raw in enumerate((data or {}).get("rules") or []):
            where = f"routing rule {n + 1}"
            if not isinstance(raw, Mapping):
                raise ValueError(f"{where} is not a mapping")
            unknown = set(raw) - {"department", "role", "street", "events", "to"}
            if unknown:
                raise ValueError(f"{where} has unknown keys {sorted(unknown)}")
            keys = {k: _optional_str(raw.get(k), f"{where}: {k}") for k in ("department", "role", "street")}
            if not any(keys.values()):
                raise ValueError(f"{where} names no department, role or street (it would match everyone)")
            to = tuple(_target(t, where) for t in raw.get("to") or [])
            if not to:
                raise ValueError(f"{where} sends to no one (`to` is empty)")
            events = raw.get("events")
            if events is not None and not (isinstance(events, list) and all(isinstance(e, str) for e in events)):
                raise ValueError(f"{where}: events is a list of event types")
            rules.append(Rule(to=to, events=frozenset(events) if events is not None else None, **keys))
        return cls(tuple(rules))

    @classmethod
    def from_yaml(cls, path: Path) -> Routing:
        return cls.from_data(yaml.safe_load(path.read_text(encoding="utf-8")))

    def channels(self) -> set[str]:
        return {target.channel for rule in self.rules for target in rule.to}

    def targets(self, event_type: str, audience: Iterable[Recipient]) -> list[Target]:
        """Every (channel, address) the audience is reached at for this event, each once, in rule order."""
        found: dict[Target, None] = {}
        for recipient in audience:
            for rule in self.rules:
                if rule.matches(event_type, recipient):
                    found.update(dict.fromkeys(rule.to))
        return list(found)


def _optional_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where} is not a non-empty string")
    return value


def _target(raw: Any, where: str) -> Target:
    if not isinstance(raw, Mapping) or set(raw) != {"channel", "address"}:
        raise ValueError(f"{where}: each `to` entry is {{channel, address}}")
    channel, address = raw["channel"], raw["address"]
    if not (isinstance(channel, str) and channel and isinstance(address, str | int) and str(address)):
        raise ValueError(f"{where}: channel and address are non-empty")
    return Target(channel, str(address))


# -- the delivery log ---------------------------------------------------------------------------------------
def address_digest(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


def sent_before(session: Session, event_id: str, channel: str, address: str) -> bool:
    status = session.scalar(
        select(DeliveryRow.status).where(
            DeliveryRow.event_id == event_id,
            DeliveryRow.channel == channel,
            DeliveryRow.address_digest == address_digest(address),
        )
    )
    return status == SENT


def record_delivery(session: Session, now: Any, event_id: str, event_type: str, result: DeliveryResult) -> int:
    """Write (or update) the log row of this send in `session` (the caller commits); the attempts so far."""
    row = session.scalars(
        select(DeliveryRow).where(
            DeliveryRow.event_id == event_id,
            DeliveryRow.channel == result.channel,
            DeliveryRow.address_digest == address_digest(result.address),
        )
    ).one_or_none()
    if row is None:
        row = DeliveryRow(
            at=now,
            event_id=event_id,
            event_type=event_type,
            channel=result.channel,
            address=mask_address(result.address),
            address_digest=address_digest(result.address),
            status=result.status,
            error=result.error,
            attempts=1,
        )
        session.add(row)
    else:
        row.at, row.status, row.error, row.attempts = now, result.status, result.error, row.attempts + 1
    session.flush()
    return row.attempts


class DeliveryLog(Protocol):
    def sent_before(self, event_id: str, channel: str, address: str) -> bool: ...

    def record(self, event_id: str, event_type: str, result: DeliveryResult) -> int: ...


class DatabaseDeliveryLog:
    """The `kit_deliveries` table, each send recorded in its own short transaction right after it happened
    (a crash later in the handler must not forget that a message went out)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def sent_before(self, event_id: str, channel: str, address: str) -> bool:
        with self.db.session(write=False) as session:
            return sent_before(session, event_id, channel, address)

    def record(self, event_id: str, event_type: str, result: DeliveryResult) -> int:
        with self.db.session(write=True) as session:
            attempts = record_delivery(session, self.clock.now(), event_id, event_type, result)
            session.commit()
            return attempts


class MemoryDeliveryLog:
    """The delivery log as a dict, for unit tests of handlers."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], DeliveryResult] = {}

    def sent_before(self, event_id: str, channel: str, address: str) -> bool:
        row = self.rows.get((event_id, channel, address))
        return row is not None and row.status == SENT

    def record(self, event_id: str, event_type: str, result: DeliveryResult) -> int:
        key = (event_id, result.channel, result.address)
        attempts = self.rows[key].attempts + 1 if key in self.rows else 1
        self.rows[key] = replace(result, attempts=attempts)
        return attempts


# -- the notifier -------------------------------------------------------------------------------------------
class Notifier:
    def __init__(self, channels: Iterable[Channel], routing: Routing, log: DeliveryLog) -> None:
        self.channels = {channel.name: channel for channel in channels}
        missing = routing.channels() - set(self.channels)
        if missing:
            raise ValueError(f"routing names channels that are not configured: {sorted(missing)}")
        self.routing = routing
        self.log = log

    def deliver(
        self, event_id: str, event_type: str, audience: Iterable[Recipient], message: Message
    ) -> list[DeliveryResult]:
        """Send `message` to every target of the audience not yet sent to for this event, log each send, and
        raise `DeliveryFailed` if any failed (after trying all of them)."""
        results = []
        for target in self.routing.targets(event_type, audience):
            if self.log.sent_before(event_id, target.channel, target.address):
                results.append(DeliveryResult(target.channel, target.address, ALREADY_SENT, attempts=0))
                continue
            result = self.channels[target.channel].send(target.address, message)
            result = replace(result, channel=target.channel, attempts=self.log.record(event_id, event_type, result))
            log.info(
                "notification %s via %s to %s: %s%s",
                event_type,
                result.channel,
                mask_address(result.address),
                result.status,
                f" ({result.error})" if result.error else "",
            )
            results.append(result)
        failed = [r for r in results if not r.ok]
        if failed:
            raise DeliveryFailed(failed)
        return results


def channels_from_settings(settings: Settings) -> list[Channel]:
    """The channels the environment configures: `NOTIFY_SMTP_HOST` (+ `_PORT`, `_SENDER`, `_USERNAME`,
    `_PASSWORD`, `_STARTTLS`, `_CA_FILE`), `NOTIFY_WEBHOOK_URL`, `NOTIFY_SMS_URL` + `NOTIFY_SMS_API_KEY`;
    `NOTIFY_TIMEOUT` for all."""
    env = settings.extra
    timeout = float(env.get("NOTIFY_TIMEOUT", str(DEFAULT_TIMEOUT)))
    channels: list[Channel] = []
    if env.get("NOTIFY_SMTP_HOST"):
        channels.append(
            SmtpChannel(
                env["NOTIFY_SMTP_HOST"],
                int(env.get("NOTIFY_SMTP_PORT", "25")),
                env.get("NOTIFY_SMTP_SENDER", f"{settings.service}@localhost"),
                username=env.get("NOTIFY_SMTP_USERNAME") or None,
                password=env.get("NOTIFY_SMTP_PASSWORD") or None,
                starttls=env.get("NOTIFY_SMTP_STARTTLS", "false").lower() in ("1", "true", "yes"),
                ca_file=env.get("NOTIFY_SMTP_CA_FILE") or None,
                timeout=timeout,
            )
        )
    if env.get("NOTIFY_WEBHOOK_URL"):
        channels.append(WebhookChannel(env["NOTIFY_WEBHOOK_URL"], timeout=timeout))
    if env.get("NOTIFY_SMS_URL"):
        channels.append(SmsChannel(env["NOTIFY_SMS_URL"], env.get("NOTIFY_SMS_API_KEY", ""), timeout=timeout))
    return channels
