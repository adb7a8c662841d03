"""The outbox relay killed with SIGKILL at each step ("Nothing accepted is lost" in ARCHITECTURE.md).

The relay under test is a real OS process, killed by the test, never by itself:
1. killed after claiming a batch, before publishing it: nothing went out, and a restarted relay publishes every
   event exactly once;
2. killed after the broker confirmed the batch, before marking it sent: the restarted relay publishes it again,
   so a raw subscriber sees every event twice while a kit consumer (inbox) applies each once;
3. killed part-way through a large backlog: every event arrives at least once and is applied exactly once.

Events are committed with a UnitOfWork straight into the producer's database and no producer service runs, so
no in-process relay competes: the process under test is the only publisher. Each test runs on SQLite and on
PostgreSQL (the producer's database); the consumer keeps its own SQLite file.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.clock import SystemClock
from kit.context import CallerContext
from kit.db import Database
from kit.dependencies import Observability, Storage
from kit.entrypoints import handle_event
from kit.harness import Process, Subscriber, queue_depth, wait_for
from kit.orm import BigIntPK, InboxEntry, KitBase, OutboxRow
from kit.testing import make_settings
from kit.uow import UnitOfWork
from tests.integration.kit.support import create_schema, thing

PAUSING_RELAY = Path(__file__).with_name("pausing_relay.py")
N = 60  # tests 1 and 2: fewer than a batch (200), so the paused relay holds every event
BACKLOG = 3000  # test 3
KILL_BATCH_SIZE = 50  # test 3: 60 batches, so the kill lands part-way


# -- a consumer whose effect table would show a second application ---------------------------------------
class AppliedBase(DeclarativeBase):
    pass


class Applied(AppliedBase):
    """One row per application of thing.made. No unique key on purpose (support.py's `Effect` has the event id
    as its primary key, which would refuse a second application by itself): only the inbox prevents doubles."""

    __tablename__ = "applied"
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36))


class RelayFaultConsumer:
    name = "relay_fault_consumer"
    storage = Storage()
    observability = Observability()

    @handle_event("producer", "thing.made")
    def on_producer_thing_made(self, event: dict[str, Any]) -> None:
        with self.storage.unit(CallerContext.system(event["correlationid"])) as uow:
            uow.session.add(Applied(event_id=event["id"]))
            uow.commit()


HANDLER_QUEUE = f"{RelayFaultConsumer.name}.on_producer_thing_made.shared"


class ConsumerProbe:
    """What the in-process consumer did: deliveries by outcome (from its metrics), effects, inbox entries."""

    def __init__(self, url: str, amqp_uri: str) -> None:
        self.url = url
        self.amqp_uri = amqp_uri
        self._baseline = {outcome: self._total(outcome) for outcome in ("ok", "duplicate")}

    @staticmethod
    def _total(outcome: str) -> float:
        labels = {"service": RelayFaultConsumer.name, "handler": "on_producer_thing_made", "outcome": outcome}
        return REGISTRY.get_sample_value("guandu_events_handled_total", labels) or 0.0

    def handled(self, outcome: str) -> int:
        """Deliveries handled in this test with this outcome (ok: applied; duplicate: refused by the inbox)."""
        return int(self._total(outcome) - self._baseline[outcome])

    def wait_handled(self, deliveries: int, timeout: float) -> None:
        wait_for(
            lambda: self.handled("ok") + self.handled("duplicate") >= deliveries,
            timeout=timeout,
            interval=0.1,
            what=f"the consumer to handle {deliveries} deliveries",
        )

    def applied(self) -> tuple[int, int]:
        """(effect rows, distinct event ids among them)."""
        engine = create_engine(self.url)
        with engine.connect() as conn:
            rows, distinct = conn.execute(select(func.count(), func.count(Applied.event_id.distinct()))).one()
            inbox = conn.execute(select(func.count()).select_from(InboxEntry)).scalar_one()
        engine.dispose()
        assert inbox == rows, f"{inbox} inbox entries for {rows} effects"
        return int(rows), int(distinct)

    def dead_letters(self) -> int | None:
        return queue_depth(self.amqp_uri, HANDLER_QUEUE + ".dlq")


# -- the producer's outbox --------------------------------------------------------------------------------
class Outbox:
    def __init__(self, url: str) -> None:
        self.db = Database(url)

    def commit_events(self, count: int, *, per_transaction: int = 200) -> list[str]:
        """Commit `count` thing.made events as a service would (UnitOfWork), the ids in outbox order."""
        for start in range(0, count, per_transaction):
            context = CallerContext.system()
            with UnitOfWork(self.db, service="producer", clock=SystemClock(), context=context) as uow:
                for i in range(start, min(count, start + per_transaction)):
                    uow.add_event(thing(f"e{i:05d}"))
                uow.commit()
        with self.db.session(write=False) as session:
            ids = list(session.scalars(select(OutboxRow.event_id).order_by(OutboxRow.seq)))
        assert len(ids) == len(set(ids)) == count
        return ids

    def sent(self) -> int:
        with self.db.session(write=False) as session:
            return int(session.scalar(select(func.count()).where(OutboxRow.sent_at.is_not(None))) or 0)


# -- relay processes --------------------------------------------------------------------------------------
class Relays:
    """Starts relay processes on the producer's database; whatever is still running at the end is killed."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.started: list[Process] = []

    def _start(self, args: list[str], **env: str) -> Process:
        process = Process(f"relay-{len(self.started) + 1}", args, {**self.env, **env}, self.log_dir)
        self.started.append(process)
        return process.start()

    def real(self, **env: str) -> Process:
        """`python -m kit.relay producer`, exactly as deployed."""
        return self._start([sys.executable, "-m", "kit.relay", "producer"], **env)

    def paused_before(self, step: str) -> tuple[Process, list[str]]:
        """A relay stopped dead before `step` of its first batch; the event ids it claimed."""
        marker = self.log_dir / f"paused-{len(self.started) + 1}.json"
        process = self._start(
            [sys.executable, str(PAUSING_RELAY), "producer", "--pause-before", step, "--marker", str(marker)]
        )
        until(marker.exists, f"the relay to pause before {step}", process)
        return process, json.loads(marker.read_text())


def until(predicate: Callable[[], object], what: str, process: Process, timeout: float = 30.0, **kw: Any) -> None:
    """wait_for, failing at once (with its log) if `process` dies, and with its log on a timeout."""

    def check() -> object:
        result = predicate()
        if not result and not process.alive:
            raise AssertionError(f"{process.name} exited while waiting for {what}")
        return result

    try:
        wait_for(check, timeout=timeout, what=what, **kw)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- {process.name} log ---\n{process.log_tail()}") from None


def all_sent(outbox: Outbox, relay: Process, count: int, timeout: float = 60.0) -> None:
    until(lambda: outbox.sent() == count, f"all {count} rows marked sent", relay, timeout=timeout, interval=0.1)


def stop_cleanly(relay: Process) -> None:
    relay.stop()
    assert relay.popen is not None
    assert relay.popen.returncode == 0, relay.log_tail()


def ids_of(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(message["id"] for message in messages)


# -- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture
def outbox(database_url: str) -> Iterator[Outbox]:
    create_schema(database_url)
    box = Outbox(database_url)
    yield box
    box.db.dispose()


@pytest.fixture
def relays(tmp_path: Path, amqp_uri: str, database_url: str, outbox: Outbox) -> Iterator[Relays]:
    running = Relays(tmp_path, {"PRODUCER_DATABASE_URL": database_url, "AMQP_URI": amqp_uri})
    yield running
    for process in running.started:
        process.kill()


@pytest.fixture
def subscriber(amqp_uri: str) -> Iterator[Subscriber]:
    """A raw subscriber on the producer's exchange: sees every copy published, duplicates included."""
    sub = Subscriber(amqp_uri, "producer.events", ["#"])
    yield sub
    sub.close()


@pytest.fixture
def consumer(container_factory: Any, amqp_uri: str, tmp_path: Path) -> ConsumerProbe:
    """The kit's handler entrypoint with its inbox, in a container, its queue declared before any publish."""
    url = f"sqlite:///{tmp_path / 'consumer.db'}"
    engine = create_engine(url)
    KitBase.metadata.create_all(engine)
    AppliedBase.metadata.create_all(engine)
    engine.dispose()
    settings = make_settings(
        RelayFaultConsumer.name,
        amqp_uri=amqp_uri,
        database_url=url,
        handler_backoff_ms=(50, 100),
        handler_max_attempts=3,
    )
    probe = ConsumerProbe(url, amqp_uri)
    container_factory(RelayFaultConsumer, settings).start()
    return probe


# -- the tests --------------------------------------------------------------------------------------------
def test_a_relay_killed_before_publishing_loses_nothing_and_sends_once(
    outbox: Outbox, relays: Relays, subscriber: Subscriber
) -> None:
    ids = outbox.commit_events(N)
    paused, claimed = relays.paused_before("publish")
    assert claimed == ids  # the whole backlog, claimed and held
    paused.kill()

    assert subscriber.drain() == [], "a relay stopped before publishing published something"
    assert outbox.sent() == 0

    relay = relays.real()
    all_sent(outbox, relay, N)
    # Rows are marked sent only after the broker confirmed them, so every copy is already in the queue.
    assert ids_of(subscriber.drain()) == Counter(ids), "each event exactly once"
    stop_cleanly(relay)


def test_a_relay_killed_after_the_confirm_publishes_again_and_the_inbox_applies_once(
    outbox: Outbox, relays: Relays, subscriber: Subscriber, consumer: ConsumerProbe
) -> None:
    ids = outbox.commit_events(N)
    paused, claimed = relays.paused_before("mark_sent")
    assert claimed == ids
    # Confirmed before the pause: the whole batch is at the subscriber already, yet no row is marked sent.
    assert ids_of(subscriber.drain()) == Counter(ids)
    paused.kill()
    assert outbox.sent() == 0, "a killed relay's batch must stay unsent"

    relay = relays.real()
    all_sent(outbox, relay, N)
    received = subscriber.drain()
    assert ids_of(received) == Counter(dict.fromkeys(ids, 2)), "each event exactly twice"
    copies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in received:
        copies[message["id"]].append(message)
    assert all(first == second for first, second in copies.values()), "the second copy is the same envelope"
    stop_cleanly(relay)

    consumer.wait_handled(2 * N, timeout=60)
    assert (consumer.handled("ok"), consumer.handled("duplicate")) == (N, N)
    assert consumer.applied() == (N, N)  # N effects, N distinct events, N inbox entries
    assert consumer.dead_letters() == 0


def test_a_relay_killed_mid_run_loses_nothing(
    outbox: Outbox, relays: Relays, subscriber: Subscriber, consumer: ConsumerProbe
) -> None:
    ids = outbox.commit_events(BACKLOG)
    relay = relays.real(RELAY_BATCH_SIZE=str(KILL_BATCH_SIZE))
    until(lambda: outbox.sent() > 0, "the first batch marked sent", relay, interval=0.005)
    relay.kill()
    sent_at_kill = outbox.sent()
    assert 0 < sent_at_kill < BACKLOG, f"the kill should land part-way ({sent_at_kill} of {BACKLOG} sent)"

    restarted = relays.real()
    all_sent(outbox, restarted, BACKLOG, timeout=120)
    received = ids_of(subscriber.drain())
    assert set(received) == set(ids), f"{len(set(ids) - set(received))} events never arrived"
    stop_cleanly(restarted)

    # The consumer's queue got the same copies as the subscriber's: wait for all of them, then count effects.
    deliveries = sum(received.values())
    consumer.wait_handled(deliveries, timeout=180)
    assert consumer.handled("ok") == BACKLOG
    assert consumer.handled("duplicate") == deliveries - BACKLOG
    assert consumer.applied() == (BACKLOG, BACKLOG)
    assert consumer.dead_letters() == 0
    print(
        f"killed with {sent_at_kill}/{BACKLOG} rows marked sent; {deliveries} copies delivered, "
        f"{deliveries - BACKLOG} duplicates refused by the inbox"
    )
