"""Dead letters, for ops: `python -m kit.dlq list <queue>` and `python -m kit.dlq replay <queue>`.

`<queue>` is a handler queue (`organization.on_x_y.shared`); its parked messages are in `<queue>.dlq`.
Listing reads without removing (the messages go back when the channel closes); replaying moves each message
to the handler's queue with a fresh attempt count, confirmed before it leaves the DLQ.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kit.amqp import ConfirmingPublisher, Outgoing, broker_user, open_connection
from kit.config import DEFAULT_AMQP_URI
from kit.entrypoints import ATTEMPT_HEADER


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    type: str
    attempts: int
    error: str
    routing_key: str
    body: bytes


def list_dead_letters(uri: str, queue: str, limit: int = 1000) -> list[DeadLetter]:
    conn = open_connection(uri)
    try:
        channel = conn.channel()
        letters = []
        for _ in range(limit):
            message = channel.basic_get(f"{queue}.dlq", no_ack=False)
            if message is None:
                break
            letters.append(_letter(message))
        return letters  # closing the channel returns every unacked message to the DLQ, in order
    finally:
        conn.close()


def replay_dead_letters(uri: str, queue: str, limit: int = 1000) -> int:
    conn = open_connection(uri)
    publisher = ConfirmingPublisher(uri)
    moved = 0
    try:
        channel = conn.channel()
        # Only what is parked now: a message that fails at once (no sender, a bad envelope) is parked again
        # while the replay runs, and would otherwise be moved round and round until `limit`.
        _, parked, _ = channel.queue_declare(f"{queue}.dlq", passive=True)
        for _ in range(min(limit, parked)):
            message = channel.basic_get(f"{queue}.dlq", no_ack=False)
            if message is None:
                break
            headers = dict(message.properties.get("application_headers") or {})
            headers[ATTEMPT_HEADER] = 1
            publisher.publish_batch(
                [
                    Outgoing(
                        exchange="",
                        routing_key=queue,
                        body=message.body if isinstance(message.body, bytes) else message.body.encode(),
                        message_id=message.properties.get("message_id", ""),
                        type=message.properties.get("type", ""),
                        content_type=message.properties.get("content_type", "application/octet-stream"),
                        headers=headers,
                        # keeps the sender header believable (kit.entrypoints.Delivery)
                        user_id=broker_user(uri),
                    )
                ]
            )
            channel.basic_ack(message.delivery_tag)
            moved += 1
        return moved
    finally:
        publisher.close()
        conn.close()


def _letter(message: Any) -> DeadLetter:
    headers = message.properties.get("application_headers") or {}
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    return DeadLetter(
        message_id=message.properties.get("message_id", ""),
        type=message.properties.get("type", ""),
        attempts=int(headers.get(ATTEMPT_HEADER, 1)) - 1,
        error=str(headers.get("x-guandu-error", "")),
        routing_key=str(headers.get("x-guandu-routing-key", "")),
        body=body,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="List or replay a handler queue's dead letters")
    parser.add_argument("action", choices=["list", "replay"])
    parser.add_argument("queue", help="the handler queue, e.g. scoring.on_whistle_closed.shared")
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    uri = os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)
    if args.action == "list":
        for letter in list_dead_letters(uri, args.queue, args.limit):
            line = {k: v for k, v in letter.__dict__.items() if k != "body"}
            print(json.dumps(line, ensure_ascii=False))
        return 0
    print(f"replayed {replay_dead_letters(uri, args.queue, args.limit)} messages to {args.queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
