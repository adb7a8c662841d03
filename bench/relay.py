"""The outbox relay's throughput (rows read, published with confirms, marked sent) beside raw py-amqp
publishing of the same messages with batched confirms, and nameko's per-message confirms for reference.

Every message is routed to a durable queue (so the broker really persists it), in a private vhost.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import amqp
from kombu import Connection, Exchange, Producer
from sqlalchemy import insert

from kit.amqp import open_connection
from kit.db import Database
from kit.harness import private_vhost
from kit.orm import KitBase, OutboxRow
from kit.relay import Relay

N = int(os.environ.get("BENCH_RELAY_EVENTS", "20000"))
BATCH = 200
EXCHANGE = "bench.events"


def bodies(n: int) -> list[bytes]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    out = []
    for i in range(n):
        env = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "type": "org.created",
            "source": "/guandu/bench",
            "time": now,
            "subject": str(uuid.uuid4()),
            "datacontenttype": "application/json",
            "dataschema": "urn:guandu:events:org.created:v1",
            "streetcode": "liujia",
            "orgpath": "/gd/liujia/c01/",
            "correlationid": uuid.uuid4().hex,
            "data": {
                "id": str(uuid.uuid4()),
                "code": f"b{i}",
                "name": "六甲社区第一居民小组1栋",
                "level": "building",
                "parent_id": str(uuid.uuid4()),
                "org_path": f"/gd/liujia/c01/a1/b{i}/",
                "street_code": "liujia",
                "location": None,
                "brand": None,
            },
        }
        out.append(json.dumps(env, ensure_ascii=False).encode())
    return out


def prepare_broker(uri: str) -> None:
    conn = open_connection(uri)
    ch = conn.channel()
    ch.exchange_declare(EXCHANGE, "topic", durable=True, auto_delete=False)
    ch.queue_declare("bench.sink", durable=True, auto_delete=False)
    ch.queue_bind("bench.sink", EXCHANGE, "#")
    conn.close()


def purge(uri: str) -> None:
    conn = open_connection(uri)
    conn.channel().queue_purge("bench.sink")
    conn.close()


def raw_batched(uri: str, payloads: list[bytes]) -> float:
    """Plain py-amqp: confirm mode, a batch of basic_publish, then wait for the acks (multiple included)."""
    conn = open_connection(uri)
    ch = conn.channel()
    ch.confirm_select()
    acked = [0]

    def on_ack(tag: int, multiple: bool) -> None:
        acked[0] = max(acked[0], tag)

    ch.events["basic_ack"].add(on_ack)
    started = time.perf_counter()
    sent = 0
    for start in range(0, len(payloads), BATCH):
        for body in payloads[start : start + BATCH]:
            message = amqp.Message(
                body,
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=str(uuid.uuid4()),
                type="org.created",
            )
            ch.basic_publish(message, exchange=EXCHANGE, routing_key="org.created.liujia")
            sent += 1
        while acked[0] < sent:
            conn.drain_events(timeout=30)
    elapsed = time.perf_counter() - started
    conn.close()
    return len(payloads) / elapsed


def kombu_per_message(uri: str, payloads: list[bytes]) -> float:
    """kombu with confirm_publish (what nameko's publisher does): one round trip per message."""
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel(), exchange=Exchange(EXCHANGE, type="topic", durable=True))
        started = time.perf_counter()
        for body in payloads:
            producer.publish(
                body,
                routing_key="org.created.liujia",
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
                delivery_mode=2,
            )
        return len(payloads) / (time.perf_counter() - started)


@contextlib.contextmanager
def outbox(url: str, payloads: list[bytes]) -> Iterator[Database]:
    db = Database(url)
    KitBase.metadata.create_all(db.engine)
    now = datetime.now(UTC)
    with db.session(write=True) as session:
        session.execute(
            insert(OutboxRow),
            [
                {
                    "event_id": str(uuid.uuid4()),
                    "event_type": "org.created",
                    "exchange": EXCHANGE,
                    "routing_key": "org.created.liujia",
                    "body": body.decode(),
                    "occurred_at": now,
                    "created_at": now,
                }
                for body in payloads
            ],
        )
        session.commit()
    try:
        yield db
    finally:
        db.dispose()


def relay_rate(uri: str, url: str, payloads: list[bytes]) -> float:
    with outbox(url, payloads) as db:
        relay = Relay(db, uri, batch_size=BATCH)
        started = time.perf_counter()
        while relay.relay_once():
            pass
        elapsed = time.perf_counter() - started
        relay.publisher.close()
        assert relay.published_total == len(payloads)
    return len(payloads) / elapsed


def postgres_url() -> str | None:
    from kit.testing import POSTGRES_ADMIN_URL, _postgres_reachable

    return None if _postgres_reachable() else POSTGRES_ADMIN_URL


def main() -> None:
    payloads = bodies(N)
    print(f"\n== outbox relay vs raw py-amqp ({N} persistent events of ~{len(payloads[0])} bytes, batches of {BATCH})")
    with private_vhost() as uri, tempfile.TemporaryDirectory() as tmp:
        prepare_broker(uri)
        raw = raw_batched(uri, payloads)
        purge(uri)
        rows = [("sqlite", relay_rate(uri, f"sqlite:///{tmp}/outbox.db", payloads))]
        purge(uri)
        pg_admin = postgres_url()
        if pg_admin:
            from kit.testing import postgres_database

            with postgres_database() as pg:
                rows.append(("postgresql", relay_rate(uri, pg, payloads)))
            purge(uri)
        per_message = kombu_per_message(uri, payloads[: min(N, 3000)])
        purge(uri)
    print(f"  raw py-amqp, batched confirms (baseline)   {raw:10,.0f} events/s")
    for backend, rate in rows:
        print(
            f"  outbox relay on {backend:<10} (read+publish+mark) {rate:10,.0f} events/s   "
            f"ratio to baseline {rate / raw:5.2f}"
        )
    print(
        f"  kombu, a confirm per message (reference)   {per_message:10,.0f} events/s   "
        f"ratio to baseline {per_message / raw:5.2f}"
    )


if __name__ == "__main__":
    main()
