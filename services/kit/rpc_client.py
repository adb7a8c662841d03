"""A lean blocking client of nameko RPC, for processes outside nameko (the gateway, benchmarks, tools).

It speaks nameko's wire protocol as nameko's own standalone proxy does: a JSON body `{"args", "kwargs"}`
published to the `nameko-rpc` topic exchange with routing key `<service>.<method>`, `reply_to` naming this
client's exclusive reply queue (bound to that exchange) and a `correlation_id`; the reply `{"result",
"error"}` comes back there. It does less per call than the standalone proxy, which is why it exists
(docs/performance.md, "A lean RPC client"):

- no publisher confirm and no `mandatory` flag: the standalone proxy waits for the broker's confirm on every
  call only to learn whether the service's queue exists; the caller asks that beforehand, once every few
  seconds (`kit.amqp.queue_state`, the gateway's `Rpc.service_up`);
- one connection and one channel, opened once, instead of a producer and its connection checked out of
  kombu's pool per call;
- the request carries `expiration` = the timeout: a call the client gave up on is dropped by the broker
  rather than run late by a service that was slow or came back.

One client serves one thread at a time (like a py-amqp connection). A call that timed out or lost its
connection leaves the client unusable: `call` raises and the owner must `close` it and make another.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from typing import Any

import amqp
from nameko.exceptions import RpcTimeout, deserialize

from kit.amqp import open_connection

RPC_EXCHANGE = "nameko-rpc"


class RpcClient:
    def __init__(self, amqp_uri: str, timeout: float) -> None:
        self.timeout = timeout
        self._conn = open_connection(amqp_uri)
        try:
            self._channel = self._conn.channel()
            self._channel.exchange_declare(RPC_EXCHANGE, "topic", durable=True, auto_delete=False)
            self._reply_to = uuid.uuid4().hex
            queue = f"rpc.reply-lean-{self._reply_to}"
            self._channel.queue_declare(queue, exclusive=True, auto_delete=True)
            self._channel.queue_bind(queue, RPC_EXCHANGE, self._reply_to)
            self._channel.basic_consume(queue, callback=self._on_reply, no_ack=True)
        except BaseException:
            self.close()
            raise
        self._waiting: str | None = None
        self._reply: dict[str, Any] | None = None

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """The method's result, or the exception it raised (as nameko deserialises it); `RpcTimeout` when no
        answer comes within the timeout, connection errors as py-amqp raises them."""
        correlation_id = uuid.uuid4().hex
        body = json.dumps({"args": args, "kwargs": kwargs}, ensure_ascii=False, separators=(",", ":"))
        message = amqp.Message(
            body.encode(),
            content_type="application/json",
            content_encoding="utf-8",
            reply_to=self._reply_to,
            correlation_id=correlation_id,
            expiration=str(max(1, int(self.timeout * 1000))),
        )
        self._waiting, self._reply = correlation_id, None
        self._channel.basic_publish(message, exchange=RPC_EXCHANGE, routing_key=f"{service}.{method}")
        deadline = time.monotonic() + self.timeout
        try:
            while self._reply is None:
                self._conn.drain_events(timeout=max(0.001, deadline - time.monotonic()))
        except TimeoutError:
            raise RpcTimeout(f"{service}.{method}") from None
        reply = self._reply
        if reply.get("error") is not None:
            raise deserialize(reply["error"])
        return reply.get("result")

    def _on_reply(self, message: amqp.Message) -> None:
        if message.properties.get("correlation_id") != self._waiting:
            return  # a late answer to a call before this one: that caller has gone
        self._reply = json.loads(message.body)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # its connection may be broken already: it is dropped either way
            self._conn.close()
