"""The kit on real RabbitMQ: outbox + relay + handler entrypoint (inbox, retries, DLQ), replay, streets."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kit.amqp import open_connection
from kit.context import CallerContext
from kit.db import Database
from kit.dlq import list_dead_letters, replay_dead_letters
from kit.errors import ServiceError
from kit.orm import InboxEntry, OutboxRow
from kit.relay import Relay, replay
from kit.testing import queue_depth, wait_for
from kit.uow import UnitOfWork
from tests.integration.kit.conftest import staff_context
from tests.integration.kit.support import count_effects, effects, thing


def outbox_rows(url: str) -> list[OutboxRow]:
    db = Database(url)
    with db.session(write=False) as session:
        rows = list(session.scalars(select(OutboxRow).order_by(OutboxRow.seq)))
    db.dispose()
    return rows


def test_a_command_runs_once_per_idempotency_key(start_producer, rpc, producer_db):
    start_producer()
    ctx = staff_context()
    first = rpc.producer.make(ctx, "a", "liujia", "key-1")
    again = rpc.producer.make(ctx, "a", "liujia", "key-1")
    assert first == again == {"subject": "a", "street": "liujia"}
    assert len(outbox_rows(producer_db)) == 1
    with pytest.raises(ServiceError) as raised:
        rpc.producer.make(ctx, "b", "liujia", "key-1")
    assert raised.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert raised.value.status == 422
    assert len(outbox_rows(producer_db)) == 1


def test_events_reach_the_handler_and_are_applied_once(start_producer, start_consumer, rpc, consumer_db):
    start_consumer()
    start_producer()
    ctx = staff_context()
    for i in range(20):
        rpc.producer.make(ctx, f"s{i:02d}", "liujia", f"k{i}")
    wait_for(lambda: count_effects(consumer_db) == 20, what="20 effects")
    assert effects(consumer_db) == [f"s{i:02d}" for i in range(20)]


def test_a_redelivered_event_has_no_second_effect(start_consumer, amqp_uri, consumer_db, tmp_path):
    """The same envelope published twice (a relay that crashed after the confirm) is applied once."""
    start_consumer()
    url = f"sqlite:///{tmp_path / 'p.db'}"
    from tests.integration.kit.support import create_schema

    create_schema(url)
    db = Database(url)
    with UnitOfWork(db, service="producer", clock=_Clock(), context=CallerContext.system()) as uow:
        uow.add_event(thing("twice"))
        uow.commit()
    relay = Relay(db, amqp_uri)
    assert relay.relay_once() == 1
    with db.session(write=True) as session:  # forget that it was sent: it goes out again
        session.execute(OutboxRow.__table__.update().values(sent_at=None))
        session.commit()
    assert relay.relay_once() == 1
    wait_for(lambda: _inbox_count(consumer_db) == 1, what="the inbox entry")
    consumer = Database(consumer_db)
    wait_for(lambda: queue_depth(amqp_uri, "consumer.on_producer_thing_made.shared") == 0, what="drained")
    assert count_effects(consumer_db) == 1
    consumer.dispose()
    db.dispose()


def test_a_handler_that_always_fails_ends_in_the_dlq_while_others_flow(
    start_producer, start_consumer, amqp_uri, rpc, consumer_db, tmp_path
):
    start_consumer()
    url = f"sqlite:///{tmp_path / 'p.db'}"
    from tests.integration.kit.support import create_schema

    create_schema(url)
    db = Database(url)
    with UnitOfWork(db, service="producer", clock=_Clock(), context=CallerContext.system()) as uow:
        uow.add_event(thing("poison", kind="thing.poisoned"))
        for i in range(5):
            uow.add_event(thing(f"fine{i}"))
        uow.commit()
    Relay(db, amqp_uri).relay_once()
    queue = "consumer.on_producer_thing_poisoned.shared"
    wait_for(lambda: count_effects(consumer_db) == 5, what="the good events")
    wait_for(lambda: queue_depth(amqp_uri, queue + ".dlq") == 1, what="the poisoned event in the DLQ")
    letters = list_dead_letters(amqp_uri, queue)
    assert len(letters) == 1
    assert letters[0].attempts == 3
    assert "cannot handle poison" in letters[0].error
    assert letters[0].routing_key == "thing.poisoned.liujia"
    assert queue_depth(amqp_uri, queue + ".dlq") == 1  # listing does not remove
    # Replayed, it fails again three times and comes back to the DLQ: nothing is lost.
    assert replay_dead_letters(amqp_uri, queue) == 1
    wait_for(lambda: queue_depth(amqp_uri, queue + ".dlq") == 1 and queue_depth(amqp_uri, queue) == 0, what="re-park")
    db.dispose()


def test_malformed_messages_are_parked_not_looped_on(start_consumer, amqp_uri, consumer_db):
    start_consumer()
    queue = "consumer.on_producer_thing_made.shared"
    import amqp

    from kit.amqp import open_connection

    conn = open_connection(amqp_uri)
    channel = conn.channel()
    channel.basic_publish(
        amqp.Message(json.dumps({"not": "an envelope"}), content_type="application/json", delivery_mode=2),
        exchange="producer.events",
        routing_key="thing.made.liujia",
    )
    channel.basic_publish(
        amqp.Message(b"\x00\x01garbage", content_type="application/x-unknown", delivery_mode=2),
        exchange="producer.events",
        routing_key="thing.made.liujia",
    )
    conn.close()
    wait_for(lambda: queue_depth(amqp_uri, queue + ".dlq") == 2, what="two parked messages")
    errors = sorted(letter.error for letter in list_dead_letters(amqp_uri, queue))
    assert errors[0].startswith("invalid envelope")
    assert errors[1].startswith("undecodable message")
    assert count_effects(consumer_db) == 0


def test_a_new_subscriber_catches_up_on_its_first_start(
    start_producer, start_consumer, rpc, amqp_uri, producer_db, consumer_db
):
    start_producer()
    ctx = staff_context()
    before = datetime.now(UTC) - timedelta(seconds=1)
    for i in range(7):
        rpc.producer.make(ctx, f"old{i}", "taihe", f"old-{i}")
    wait_for(lambda: all(r.sent_at for r in outbox_rows(producer_db)) and len(outbox_rows(producer_db)) == 7)
    # The consumer's queue did not exist when they were published; on its first start it asks for them.
    container = start_consumer()
    wait_for(lambda: count_effects(consumer_db) == 7, what="the events replayed on first start")
    # Replaying the same span again (as ops might) changes nothing.
    handler = next(e for e in container.entrypoints if e.method_name == "on_producer_thing_made")
    db = Database(producer_db)
    sent = replay(db, amqp_uri, queue=handler.queue_name, since=before, routing_keys=handler.binding_keys)
    db.dispose()
    assert sent == 7
    wait_for(lambda: _inbox_count(consumer_db) == 7 and queue_depth(amqp_uri, handler.queue_name) == 0)
    assert count_effects(consumer_db) == 7


def test_a_restarted_subscriber_does_not_ask_again(start_producer, start_consumer, rpc, amqp_uri, consumer_db):
    start_producer()
    first = start_consumer()
    handler = next(e for e in first.entrypoints if e.method_name == "on_producer_thing_made")
    assert handler.first_start
    wait_for(lambda: queue_depth(amqp_uri, handler.replay_marker) is None, what="the first replay done")
    first.stop()
    again = start_consumer()
    assert not next(e for e in again.entrypoints if e.method_name == "on_producer_thing_made").replay_owed


def test_a_replay_owed_by_a_first_start_is_asked_for_again_until_the_source_answers(
    start_producer, start_consumer, rpc, amqp_uri, producer_db, consumer_db
):
    producer = start_producer()
    for i in range(5):
        rpc.producer.make(staff_context(), f"old{i}", "taihe", f"old-{i}")
    wait_for(lambda: all(r.sent_at for r in outbox_rows(producer_db)) and len(outbox_rows(producer_db)) == 5)
    producer.stop()
    conn = open_connection(amqp_uri)  # and gone: no queue keeps a request for it until it comes back
    conn.channel().queue_delete("rpc-producer")
    conn.close()
    # The consumer's first start, with the source gone: the replay cannot happen; it is owed, on the broker.
    first = start_consumer()
    handler = next(e for e in first.entrypoints if e.method_name == "on_producer_thing_made")
    assert handler.first_start and queue_depth(amqp_uri, handler.replay_marker) == 0
    first.stop()
    assert count_effects(consumer_db) == 0
    # Started again (its queue exists now), with the source back: it still asks, gets all five, clears the debt.
    start_producer()
    again = start_consumer()
    assert not next(e for e in again.entrypoints if e.method_name == "on_producer_thing_made").first_start
    wait_for(lambda: count_effects(consumer_db) == 5, what="the owed replay")
    wait_for(lambda: queue_depth(amqp_uri, handler.replay_marker) is None, what="the debt cleared")


def test_only_the_suite_may_ask_for_a_replay(start_producer, rpc):
    start_producer()
    with pytest.raises(ServiceError) as raised:
        rpc.producer.replay_events(staff_context(), "consumer.on_x.shared", "1970-01-01T00:00:00Z", ["x.liujia"])
    assert raised.value.code == "SYSTEM_ONLY"
    with pytest.raises(ServiceError) as raised:
        rpc.producer.replay_events(
            CallerContext.system().to_wire(), "amq.rabbitmq.trace", "1970-01-01T00:00:00Z", ["x"]
        )
    assert raised.value.code == "REPLAY_INVALID"


def test_a_dedicated_deployment_gets_its_street_and_the_shared_one_the_rest(
    start_producer, container_factory, amqp_uri, rpc, tmp_path
):
    from tests.integration.kit.support import ConsumerService, create_schema

    urls = {}
    for label, overrides in {"liujia": {"STREETS": "liujia"}, "shared": {"DEDICATED_STREETS": "liujia"}}.items():
        urls[label] = f"sqlite:///{tmp_path / (label + '.db')}"
        create_schema(urls[label])
        env = {"AMQP_URI": amqp_uri, "CONSUMER_DATABASE_URL": urls[label], "METRICS_PORT": "0", **overrides}
        from kit.config import Settings

        container_factory(ConsumerService, Settings.from_env("consumer", env)).start()
    start_producer()
    ctx = staff_context()
    for i, street in enumerate(["liujia", "taihe", "liujia", "district", "guanshang"]):
        rpc.producer.make(ctx, f"{street}-{i}", street, f"st-{i}")
    wait_for(lambda: count_effects(urls["liujia"]) == 2 and count_effects(urls["shared"]) == 3)
    assert effects(urls["liujia"]) == ["liujia-0", "liujia-2"]
    assert effects(urls["shared"]) == ["district-3", "guanshang-4", "taihe-1"]


def test_a_handler_bound_to_the_district_takes_its_events_only_whatever_streets_it_serves(
    start_producer, container_factory, amqp_uri, rpc, tmp_path
):
    from kit.config import Settings
    from tests.integration.kit.support import DistrictConsumerService, create_schema

    url = f"sqlite:///{tmp_path / 'district.db'}"
    create_schema(url)
    env = {"AMQP_URI": amqp_uri, "CONSUMER_DATABASE_URL": url, "METRICS_PORT": "0", "STREETS": "liujia"}
    container_factory(DistrictConsumerService, Settings.from_env("consumer", env)).start()
    start_producer()
    ctx = staff_context()
    for i, street in enumerate(["liujia", "taihe", "district", "liujia", "district"]):
        rpc.producer.make(ctx, f"{street}-{i}", street, f"d-{i}")
    # One queue, in order: by the time the last district event is applied, any street event bound would be too.
    wait_for(lambda: "district-4" in effects(url))
    assert effects(url) == ["district-2", "district-4"]


def test_handler_queues_work_as_quorum_queues(start_producer, start_consumer, rpc, amqp_uri, consumer_db):
    start_consumer(queue_type="quorum")
    start_producer()
    ctx = staff_context()
    for i in range(5):
        rpc.producer.make(ctx, f"q{i}", "liujia", f"q-{i}")
    wait_for(lambda: count_effects(consumer_db) == 5, what="5 effects through quorum queues")
    from kit.amqp import open_connection

    conn = open_connection(amqp_uri)
    channel = conn.channel()
    # Declaring it as classic now must clash: it really is a quorum queue.
    import amqp

    with pytest.raises(amqp.exceptions.PreconditionFailed):
        channel.queue_declare(
            "consumer.on_producer_thing_made.shared", durable=True, arguments={"x-queue-type": "classic"}
        )
    conn.close()


def test_rpc_refuses_a_bad_context_and_never_leaks_internals(start_producer, rpc):
    start_producer()
    with pytest.raises(ServiceError) as raised:
        rpc.producer.make({"role": "king"}, "a", "liujia", "k")
    assert raised.value.code == "CONTEXT_INVALID"
    with pytest.raises(ServiceError) as raised:
        rpc.producer.explode(staff_context())
    assert raised.value.code == "INTERNAL"
    assert "passwd" not in str(raised.value.args)


def _inbox_count(url: str) -> int:
    db = Database(url)
    with db.session(write=False) as session:
        n = session.scalar(select(func.count()).select_from(InboxEntry))
    db.dispose()
    return int(n or 0)


class _Clock:
    def now(self):
        return datetime.now(UTC)
