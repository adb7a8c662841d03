"""A city department's system talking to the Guandu suite over RabbitMQ: a small standalone client.

It needs only Python 3.11+ and py-amqp (`pip install amqp`); nothing of the suite. It uses the broker user
the district gave the department (`<code>.system`, e.g. `water.system`), whose rights are only to read its
queue `department.<code>` and to publish to the exchange `departments.commands` (docs/asyncapi.yaml).

    # what the suite sends the department (whistle.blown, department_command.accepted/rejected, ...):
    python examples/department_client.py --uri amqp://water.system:SECRET@broker:5672/ --department water listen

    # listen, and report in (报到) to every whistle the department is summoned to:
    python examples/department_client.py --uri ... --department water listen --report-in

    # one command by hand:
    python examples/department_client.py --uri ... --department water report-in \\
        --whistle 0b6f...-... --street wujing --org-path /gd/wujing/c03/ --note "on our way"

The queue is durable: while this client is offline the suite's events wait for it. Every message is at
least once: deduplicate on the envelope's `id`. A command is published with `user_id` set to the broker
user, which RabbitMQ checks against the connection's login (it closes the channel otherwise), so the suite
knows for certain which department sent it; the answer comes back on the same queue as a
`department_command.accepted` or `department_command.rejected` event naming the command's `id`. A command
sent twice with the same `id` is applied once.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import amqp

COMMANDS_EXCHANGE = "departments.commands"
CONTENT_TYPE = "application/cloudevents+json"
COMMANDS = ("report_in", "result", "return", "extension_request")


def connect(uri: str) -> amqp.Connection:
    parsed = urllib.parse.urlparse(uri)
    vhost = urllib.parse.unquote(parsed.path[1:]) if parsed.path not in ("", "/") else "/"
    conn = amqp.Connection(
        host=f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 5672}",
        userid=urllib.parse.unquote(parsed.username or ""),
        password=urllib.parse.unquote(parsed.password or ""),
        virtual_host=vhost,
        heartbeat=30,
    )
    conn.connect()
    return conn


def command_envelope(
    command: str,
    *,
    department: str,
    whistle_id: str,
    street: str,
    org_path: str,
    data: dict[str, Any] | None = None,
    command_id: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """A command as a CloudEvents 1.0 envelope (type `department.<command>`). Keep `command_id` when you
    send the same command again (after a timeout, say): the suite applies it once."""
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; one of {COMMANDS}")
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    kind = f"department.{command}"
    return {
        "specversion": "1.0",
        "id": command_id or str(uuid.uuid4()),
        "type": kind,
        "source": f"/guandu/{department}",
        "time": now,
        "subject": whistle_id,
        "datacontenttype": "application/json",
        "dataschema": f"urn:guandu:events:{kind}:v1",
        "data": {"whistle_id": whistle_id, **(data or {})},
        "streetcode": street,
        "orgpath": org_path,
        "correlationid": correlation_id or uuid.uuid4().hex,
    }


def publish_command(channel: Any, envelope: dict[str, Any], *, user_id: str) -> None:
    """Publish a command persistently, keyed `<type>.<street>`, waiting for the broker's confirm. The
    `user_id` must be the connection's own user, or the broker refuses (PRECONDITION_FAILED)."""
    channel.basic_publish_confirm(
        amqp.Message(
            json.dumps(envelope, ensure_ascii=False).encode(),
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=envelope["id"],
            type=envelope["type"],
            user_id=user_id,
        ),
        exchange=COMMANDS_EXCHANGE,
        routing_key=f"{envelope['type']}.{envelope['streetcode']}",
        confirm_timeout=15,
    )


def listen(uri: str, department: str, on_event: Callable[[dict[str, Any], Any], None], *, limit: int = 0) -> int:
    """Consume `department.<code>`, calling `on_event(envelope, channel to publish commands on)` and acking
    after it returns (a crash before the ack gets the message again). Stops after `limit` messages (0:
    never); the number handled."""
    conn = connect(uri)
    handled = 0
    try:
        channel, commands = conn.channel(), conn.channel()
        # One message at a time: no delivery arrives while a command's confirm is awaited inside on_event.
        channel.basic_qos(prefetch_size=0, prefetch_count=1, a_global=False)

        def on_message(message: Any) -> None:
            nonlocal handled
            on_event(json.loads(message.body), commands)
            channel.basic_ack(message.delivery_tag)
            handled += 1

        channel.basic_consume(f"department.{department}", callback=on_message)
        while not limit or handled < limit:
            conn.drain_events()
        return handled
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A department's system on the Guandu broker")
    parser.add_argument("--uri", required=True, help="amqp://<code>.system:PASSWORD@host:5672/vhost")
    parser.add_argument("--department", required=True, help="the department's code, e.g. water")
    sub = parser.add_subparsers(dest="action", required=True)
    listening = sub.add_parser("listen", help="print what the suite sends this department")
    listening.add_argument("--report-in", action="store_true", help="report in to every whistle blown")
    listening.add_argument("--limit", type=int, default=0)
    reporting = sub.add_parser("report-in", help="report in (报到) to one whistle")
    reporting.add_argument("--whistle", required=True)
    reporting.add_argument("--street", required=True)
    reporting.add_argument("--org-path", required=True)
    reporting.add_argument("--note", default="")
    args = parser.parse_args(argv)
    user = urllib.parse.unquote(urllib.parse.urlparse(args.uri).username or "")

    if args.action == "report-in":
        conn = connect(args.uri)
        try:
            channel = conn.channel()
            envelope = command_envelope(
                "report_in",
                department=args.department,
                whistle_id=args.whistle,
                street=args.street,
                org_path=args.org_path,
                data={"note": args.note},
            )
            publish_command(channel, envelope, user_id=user)
            print(json.dumps({"sent": envelope["id"], "type": envelope["type"]}))
        finally:
            conn.close()
        return 0

    def on_event(event: dict[str, Any], channel: Any) -> None:
        print(json.dumps(event, ensure_ascii=False), flush=True)
        if args.report_in and event["type"] == "whistle.blown":
            data = event["data"]
            reply = command_envelope(
                "report_in",
                department=args.department,
                whistle_id=data.get("id", event["subject"]),
                street=event["streetcode"],
                org_path=event["orgpath"],
                data={"note": "reported in by the department's system"},
                correlation_id=event["correlationid"],
            )
            publish_command(channel, reply, user_id=user)

    listen(args.uri, args.department, on_event, limit=args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
