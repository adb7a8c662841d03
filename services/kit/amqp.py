"""Talking to RabbitMQ below nameko: connection parameters and a publisher that batches confirms.

nameko's and kombu's confirm mode waits for the broker after every message (about 1,000-2,000/s); here a
batch is published on one py-amqp channel in confirm mode and the acks (`multiple` included) are collected
once, which is what makes the outbox relay fast.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import amqp
from kombu.serialization import register

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"
# A message sent through the default exchange (a replay, a retry, the DLQ) keeps the key it was first routed
# with in this header, and the broker-validated sender (`user_id`) it first came with in the other one.
ROUTING_KEY_HEADER = "x-guandu-routing-key"
SENDER_HEADER = "x-guandu-user-id"


def register_cloudevents_serializer() -> None:
    """Let kombu consumers decode `application/cloudevents+json` bodies (accept name `cloudevents`)."""
    import json

    register(
        "cloudevents",
        lambda obj: json.dumps(obj, ensure_ascii=False, separators=(",", ":")),
        json.loads,
        content_type=CLOUDEVENTS_CONTENT_TYPE,
        content_encoding="utf-8",
    )


register_cloudevents_serializer()


def connection_params(uri: str) -> dict[str, Any]:
    parsed = urllib.parse.urlparse(uri)
    vhost = urllib.parse.unquote(parsed.path[1:]) if parsed.path not in ("", "/") else "/"
    return {
        "host": f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 5672}",
        "userid": urllib.parse.unquote(parsed.username or "guest"),
        "password": urllib.parse.unquote(parsed.password or "guest"),
        "virtual_host": vhost,
        "heartbeat": 0,
        "connect_timeout": 5,
        # No heartbeats on these short-lived blocking connections: socket timeouts catch a dead broker instead.
        "read_timeout": 30,
        "write_timeout": 30,
    }


def broker_user(uri: str) -> str:
    """The user a connection to `uri` authenticates as (what the broker checks a `user_id` against)."""
    return str(connection_params(uri)["userid"])


def open_connection(uri: str) -> amqp.Connection:
    conn = amqp.Connection(**connection_params(uri))
    conn.connect()
    return conn


@dataclass(frozen=True)
class Outgoing:
    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    type: str
    content_type: str = CLOUDEVENTS_CONTENT_TYPE
    headers: dict[str, Any] | None = None
    # RabbitMQ refuses a user_id other than the connection's own user: only that user can be stamped here.
    user_id: str | None = None


class PublishFailed(Exception):
    pass


class ConfirmingPublisher:
    """Publishes persistent messages in batches on one confirm-mode channel and waits for all the acks."""

    def __init__(self, uri: str, *, confirm_timeout: float = 15.0) -> None:
        self.uri = uri
        self.confirm_timeout = confirm_timeout
        self._conn: amqp.Connection | None = None
        self._channel: Any = None
        self._next_tag = 1
        self._pending: set[int] = set()
        self._nacked: set[int] = set()
        self._declared: set[str] = set()

    def _ensure(self) -> Any:
        if self._channel is None:
            conn = open_connection(self.uri)
            channel = conn.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._conn, self._channel = conn, channel
            self._next_tag, self._declared = 1, set()
        return self._channel

    def _settle(self, tag: int, multiple: bool, into: set[int] | None) -> None:
        done = {t for t in self._pending if t <= tag} if multiple else {tag} & self._pending
        self._pending -= done
        if into is not None:
            into |= done

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, None)

    def _on_nack(self, delivery_tag: int, multiple: bool, *_: Any) -> None:
        self._settle(delivery_tag, multiple, self._nacked)

    def declare_exchange(self, name: str) -> None:
        channel = self._ensure()
        if name and name not in self._declared:
            channel.exchange_declare(name, "topic", durable=True, auto_delete=False)
            self._declared.add(name)

    def publish_batch(self, messages: Sequence[Outgoing]) -> None:
        """Publish every message and return once the broker confirmed all of them; raise otherwise."""
        if not messages:
            return
        try:
            channel = self._ensure()
            for exchange in {m.exchange for m in messages}:
                self.declare_exchange(exchange)
            self._nacked.clear()
            for message in messages:
                channel.basic_publish(
                    amqp.Message(
                        message.body,
                        content_type=message.content_type,
                        content_encoding="utf-8",
                        delivery_mode=2,
                        message_id=message.message_id,
                        type=message.type,
                        **({"application_headers": message.headers} if message.headers else {}),
                        **({"user_id": message.user_id} if message.user_id else {}),
                    ),
                    exchange=message.exchange,
                    routing_key=message.routing_key,
                )
                self._pending.add(self._next_tag)
                self._next_tag += 1
            deadline = time.monotonic() + self.confirm_timeout
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PublishFailed(f"{len(self._pending)} messages not confirmed in {self.confirm_timeout}s")
                self._conn.drain_events(timeout=remaining)  # type: ignore[union-attr]
        except Exception:
            self.close()
            raise
        if self._nacked:
            raise PublishFailed(f"the broker refused {len(self._nacked)} messages")

    def close(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        self._pending.clear()
        if conn is not None:
            # a broken connection may not close cleanly; it is dropped either way
            with contextlib.suppress(Exception):
                conn.close()


def queue_state(uri: str, names: Iterable[str]) -> dict[str, tuple[int, int] | None]:
    """(messages, consumers) per queue without publishing anything; None for a queue that does not exist."""
    out: dict[str, tuple[int, int] | None] = {}
    conn = open_connection(uri)
    try:
        for name in names:
            channel = conn.channel()
            try:
                _, messages, consumers = channel.queue_declare(name, passive=True)
                out[name] = (messages, consumers)
                channel.close()
            except amqp.exceptions.NotFound:
                out[name] = None
    finally:
        conn.close()
    return out
