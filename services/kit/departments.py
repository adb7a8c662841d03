"""The broker side of city departments' own systems: one durable queue per department on the `departments`
exchange (so a system that is offline loses nothing), the exchange their commands come in on, and the
broker user each system connects as.

Events are published without `mandatory`: a copy for a department whose queue does not exist yet is simply
not routed (the outbox keeps it, and `EventSource.replay_events` can send it into `department.<code>` later).
A service that summons departments declares their queues at start, and again whenever it learns of a new
department, before it publishes anything for it. In a nameko service:

    class WhistleService(EventSource, ...):
        department_queues = DepartmentQueues()          # kit.dependencies: self.department_queues(["water"])

        @handle_event("departments", "department.*", exchange=DEPARTMENT_COMMANDS_EXCHANGE, replay=False,
                      delivery=True, require_user_id=True)
        def on_department_command(self, event, delivery):  # delivery.user_id: validated by the broker
            code = department_of_user(delivery.user_id)    # None: no department's system sent it
            ...  # apply once (the inbox keys on event["id"]), record department_command.accepted/rejected

Ops: `python -m kit.departments declare|replay|permissions` (docs/operations.md).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from kit.amqp import open_connection
from kit.config import DEFAULT_AMQP_URI
from kit.events import DEPARTMENT_COMMANDS_EXCHANGE, DEPARTMENTS_EXCHANGE

# Department codes are organization's immutable codes.
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
QUEUE_PREFIX = "department."
USER_SUFFIX = ".system"


def _checked(code: str) -> str:
    if not CODE_RE.match(code):
        raise ValueError(f"not a department code: {code!r}")
    return code


def department_queue(code: str) -> str:
    """`department.<code>`: where `<code>.#` copies wait for the department's system."""
    return QUEUE_PREFIX + _checked(code)


def department_of_queue(queue: str) -> str | None:
    """The code of a `department.<code>` queue, None for any other name."""
    if not queue.startswith(QUEUE_PREFIX):
        return None
    code = queue[len(QUEUE_PREFIX) :]
    return code if CODE_RE.match(code) else None


def binding_key(code: str) -> str:
    return f"{_checked(code)}.#"


def system_user(code: str) -> str:
    """The broker user a department's system connects (and stamps `user_id`) as: `<code>.system`."""
    return _checked(code) + USER_SUFFIX


def department_of_user(user_id: str | None) -> str | None:
    """The department whose system a broker-validated `user_id` is, None for any other user."""
    if not user_id or not user_id.endswith(USER_SUFFIX):
        return None
    code = user_id[: -len(USER_SUFFIX)]
    return code if CODE_RE.match(code) else None


def system_permissions(code: str) -> dict[str, str]:
    """Least privilege for a department's system (RabbitMQ's configure/write/read regexes): it declares
    nothing, publishes only commands and reads only its own queue."""
    return {
        "configure": "^$",
        "write": f"^{re.escape(DEPARTMENT_COMMANDS_EXCHANGE)}$",
        "read": f"^{re.escape(department_queue(code))}$",
    }


def declare_department_queue(channel_or_uri: Any, code: str, *, queue_type: str = "classic") -> str:
    """Declare the `departments` exchange and the durable queue `department.<code>` bound to it with
    `<code>.#` (idempotent); the queue's name. `queue_type` is the kit's setting (`Settings.queue_type`),
    as for handler queues: a queue's type is fixed once declared."""
    if isinstance(channel_or_uri, str):
        return declare_department_queues(channel_or_uri, [code], queue_type=queue_type)[0]
    channel = channel_or_uri
    queue = department_queue(code)
    channel.exchange_declare(DEPARTMENTS_EXCHANGE, "topic", durable=True, auto_delete=False)
    channel.queue_declare(queue, durable=True, auto_delete=False, arguments={"x-queue-type": queue_type})
    channel.queue_bind(queue, DEPARTMENTS_EXCHANGE, binding_key(code))
    return queue


def declare_department_queues(uri: str, codes: Iterable[str], *, queue_type: str = "classic") -> list[str]:
    """Declare every department's queue (and the commands exchange its system publishes to) on one
    connection; the queues' names, in order."""
    conn = open_connection(uri)
    try:
        channel = conn.channel()
        channel.exchange_declare(DEPARTMENT_COMMANDS_EXCHANGE, "topic", durable=True, auto_delete=False)
        return [declare_department_queue(channel, code, queue_type=queue_type) for code in codes]
    finally:
        conn.close()


def replay_into_department(uri: str, source: str, code: str, since: str) -> int:
    """Ask `source` (a service) to replay the copies it kept for department `code` since `since` (ISO-8601)
    into `department.<code>`, as the suite itself; the number sent."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from kit.context import CallerContext

    with ClusterRpcProxy({"AMQP_URI": uri}, timeout=300) as proxy:
        sent = getattr(proxy, source).replay_events(
            CallerContext.system().to_wire(), department_queue(code), since, [binding_key(code)]
        )
    return int(sent)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="City departments' queues on the broker (AMQP_URI)")
    sub = parser.add_subparsers(dest="action", required=True)
    declaring = sub.add_parser("declare", help="declare department.<code> queues (idempotent)")
    declaring.add_argument("codes", nargs="+")
    declaring.add_argument(
        "--queue-type", choices=["classic", "quorum"], default=os.environ.get("QUEUE_TYPE", "classic")
    )
    replaying = sub.add_parser("replay", help="refill department.<code> from a service's kept events")
    replaying.add_argument("source", help="the service that published them, e.g. whistle")
    replaying.add_argument("code")
    replaying.add_argument("--since", required=True, help="ISO-8601, e.g. 2026-12-01T00:00:00Z")
    rights = sub.add_parser("permissions", help="print the rabbitmqctl line giving <code>.system its rights")
    rights.add_argument("code")
    rights.add_argument("--vhost", default="/")
    args = parser.parse_args(argv)
    uri = os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)
    if args.action == "declare":
        for queue in declare_department_queues(uri, args.codes, queue_type=args.queue_type):
            print(f"declared {queue}")
    elif args.action == "replay":
        sent = replay_into_department(uri, args.source, args.code, args.since)
        print(f"{args.source} replayed {sent} events into {department_queue(args.code)}")
    else:
        perms = system_permissions(args.code)
        print(
            f"rabbitmqctl set_permissions -p '{args.vhost}' '{system_user(args.code)}' "
            f"'{perms['configure']}' '{perms['write']}' '{perms['read']}'"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
