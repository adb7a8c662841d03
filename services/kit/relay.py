"""The outbox relay: publishes committed events and marks them sent once the broker has confirmed them.

A crash between commit and publish loses nothing (the row is still unsent); a crash between the broker's
confirm and the mark re-publishes the batch, which consumers' inboxes make harmless. Rows are claimed with
`FOR UPDATE SKIP LOCKED` on PostgreSQL so several replicas share the work. Sent rows are kept (default 400
days) so a subscriber can ask for a replay from a time.

Run inside each service (started by the storage provider) or alone: `python -m kit.relay <service>`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from kit.amqp import ROUTING_KEY_HEADER, ConfirmingPublisher, Outgoing
from kit.clock import Clock, SystemClock, as_utc
from kit.db import Database
from kit.events import topic_matches
from kit.orm import OutboxRow, table_of

log = logging.getLogger("kit.relay")

# The relay's two statements, built once: it runs them for every batch. Core rows, not ORM objects: the relay
# only reads columns and marks them.
_OUTGOING = (OutboxRow.seq, OutboxRow.event_id, OutboxRow.event_type, OutboxRow.exchange, OutboxRow.routing_key)
_CLAIM = (
    select(*_OUTGOING, OutboxRow.body)
    .where(OutboxRow.sent_at.is_(None))
    .order_by(OutboxRow.seq)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_MARK_SENT = (
    update(table_of(OutboxRow))
    .where(OutboxRow.seq.in_(bindparam("seqs", expanding=True)))
    .values(sent_at=bindparam("now"))
)


def _outgoing(
    row: Any,
    *,
    exchange: str | None = None,
    routing_key: str | None = None,
    headers: dict[str, Any] | None = None,
) -> Outgoing:
    return Outgoing(
        exchange=row.exchange if exchange is None else exchange,
        routing_key=row.routing_key if routing_key is None else routing_key,
        body=row.body.encode(),
        message_id=row.event_id,
        type=row.event_type,
        headers=headers,
    )


class Relay:
    def __init__(
        self,
        db: Database,
        amqp_uri: str,
        *,
        batch_size: int = 200,
        clock: Clock | None = None,
        retention_days: int = 400,
    ) -> None:
        self.db = db
        self.publisher = ConfirmingPublisher(amqp_uri)
        self.batch_size = batch_size
        self.clock = clock or SystemClock()
        self.retention = timedelta(days=retention_days)
        self.published_total = 0

    # The three steps are separate methods so the fault tests can stop a real relay process between them.
    def claim(self, session: Session) -> Sequence[Any]:
        return session.execute(_CLAIM, {"limit": self.batch_size}).all()

    def publish(self, rows: Sequence[Any]) -> None:
        self.publisher.publish_batch([_outgoing(row) for row in rows])

    def mark_sent(self, session: Session, rows: Sequence[Any]) -> None:
        session.execute(_MARK_SENT, {"seqs": [r.seq for r in rows], "now": self.clock.now()})
        session.commit()

    def relay_once(self) -> int:
        """Publish one batch of unsent rows; the number published."""
        if self.db.is_sqlite:
            # SQLite has one writer at a time: never hold its write lock while waiting on the broker. (There is
            # one relay per SQLite database; a second one would only cause duplicates, which inboxes absorb.)
            with self.db.session(write=False) as session:
                rows = self.claim(session)
            if rows:
                self.publish(rows)
                with self.db.session(write=True) as session:
                    self.mark_sent(session, rows)
        else:
            # PostgreSQL: the claimed rows stay locked (SKIP LOCKED for other replicas) until marked sent.
            with self.db.session(write=True) as session:
                rows = self.claim(session)
                if rows:
                    self.publish(rows)
                    self.mark_sent(session, rows)
        self.published_total += len(rows)
        return len(rows)

    def purge_sent(self) -> int:
        """Drop rows sent longer ago than the retention period."""
        cutoff = self.clock.now() - self.retention
        with self.db.session(write=True) as session:
            result = session.execute(delete(OutboxRow).where(OutboxRow.sent_at < cutoff))
            session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    def run(self, stop: threading.Event, wake: threading.Event, *, idle_seconds: float = 0.5) -> None:
        """Relay until `stop` is set; `wake` (set on every commit) cuts the idle wait short."""
        backoff = 0.5
        next_purge = time.monotonic()  # once at start, then hourly (idempotent, so every replica may do it)
        while not stop.is_set():
            try:
                published = self.relay_once()
                backoff = 0.5
                if time.monotonic() >= next_purge:
                    self.purge_sent()
                    next_purge = time.monotonic() + 3600
            except Exception as exc:
                log.warning("outbox relay failed, retrying in %.1fs: %s", backoff, exc)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if published < self.batch_size:
                wake.wait(idle_seconds)
                wake.clear()
        self.publisher.close()


def replay(
    db: Database,
    amqp_uri: str,
    *,
    queue: str,
    since: datetime,
    routing_keys: Sequence[str],
    exchange: str | None = None,
    batch_size: int = 500,
) -> int:
    """Publish the kept events that happened at or after `since` and match `routing_keys` straight to one
    subscriber's queue (default exchange), so nobody else receives them twice. The number sent.

    `routing_keys` are the queue's binding keys, matched as the broker would (`*`, `#`); `exchange` keeps
    the copies meant for another exchange out (a department queue's `water.#` must not match a street
    copy whose event type happens to start with `water.`). Each message carries its original routing key in
    the `x-guandu-routing-key` header, since the default exchange replaces it with the queue's name."""
    publisher = ConfirmingPublisher(amqp_uri)
    sent, after = 0, 0
    patterns = [k for k in routing_keys if _is_pattern(k)]
    exact = [k for k in routing_keys if not _is_pattern(k)]
    # The SQL narrows by each pattern's literal prefix; the topic match below decides.
    wanted = [OutboxRow.routing_key.in_(exact)] if exact else []
    wanted += [OutboxRow.routing_key.like(_like_prefix(p), escape="\\") for p in patterns]
    if not wanted:
        return 0
    try:
        while True:
            query = select(OutboxRow).where(OutboxRow.seq > after, OutboxRow.occurred_at >= since, or_(*wanted))
            if exchange is not None:
                query = query.where(OutboxRow.exchange == exchange)
            with db.session(write=False) as session:
                rows = session.scalars(query.order_by(OutboxRow.seq).limit(batch_size)).all()
            if not rows:
                return sent
            matching = [r for r in rows if r.routing_key in exact or _matches_any(patterns, r.routing_key)]
            publisher.publish_batch(
                [
                    _outgoing(r, exchange="", routing_key=queue, headers={ROUTING_KEY_HEADER: r.routing_key})
                    for r in matching
                ]
            )
            sent += len(matching)
            after = rows[-1].seq
    finally:
        publisher.close()


def _matches_any(patterns: Sequence[str], routing_key: str) -> bool:
    return any(topic_matches(p, routing_key) for p in patterns)


def _is_pattern(key: str) -> bool:
    return any(word in ("*", "#") for word in key.split("."))


def _like_prefix(pattern: str) -> str:
    """`water.#` -> `water%`: the words before the first wildcard, LIKE-escaped (`_` is a LIKE wildcard). No
    trailing dot, since `water.#` also matches `water` itself; the topic match filters what is too much."""
    literal: list[str] = []
    for word in pattern.split("."):
        if word in ("*", "#"):
            break
        literal.append(word)
    prefix = ".".join(literal)
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def backlog(db: Database, clock: Clock) -> tuple[int, float]:
    """(unsent rows, age in seconds of the oldest unsent row) for the metrics."""
    with db.session(write=False) as session:
        count, oldest = session.execute(
            select(func.count(), func.min(OutboxRow.created_at)).where(OutboxRow.sent_at.is_(None))
        ).one()
    if not count or oldest is None:
        return 0, 0.0
    return int(count), max(0.0, (clock.now() - as_utc(oldest)).total_seconds())


def main(argv: Sequence[str] | None = None) -> None:
    from kit.config import Settings
    from kit.logs import configure_logging

    parser = argparse.ArgumentParser(description="Publish a service's outbox to RabbitMQ")
    parser.add_argument("service")
    args = parser.parse_args(argv)
    settings = Settings.from_env(args.service)
    configure_logging(args.service + "-relay")
    stop, wake = threading.Event(), threading.Event()

    def shutdown(*_: object) -> None:
        stop.set()
        wake.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, shutdown)
    relay = Relay(
        Database(settings.database_url),
        settings.amqp_uri,
        batch_size=settings.relay_batch_size,
        retention_days=settings.outbox_retention_days,
    )
    log.info("relay started for %s", args.service)
    relay.run(stop, wake, idle_seconds=settings.relay_idle_seconds)


if __name__ == "__main__":
    main()
