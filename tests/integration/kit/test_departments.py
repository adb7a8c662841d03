"""City departments' systems on real RabbitMQ: their durable queues (offline loses nothing, a replay refills),
commands on another exchange with the broker-validated sender, and the broker refusing a forged one."""

import importlib.util
import json
import uuid

import amqp
import pytest

from kit.amqp import ROUTING_KEY_HEADER, SENDER_HEADER, open_connection
from kit.context import CallerContext
from kit.departments import (
    declare_department_queue,
    declare_department_queues,
    replay_into_department,
    system_permissions,
)
from kit.dlq import list_dead_letters, replay_dead_letters
from kit.errors import ServiceError
from kit.testing import broker_user, make_settings, queue_depth, wait_for
from tests.integration.kit.conftest import staff_context
from tests.integration.kit.support import DeskService, effects
from tests.integration.kit.test_outbox_and_handlers import outbox_rows

EPOCH = "1970-01-01T00:00:00Z"


def _example_client():
    """examples/department_client.py, as a department would run it (it imports nothing of the suite)."""
    from kit.config import repo_root

    spec = importlib.util.spec_from_file_location("department_client", repo_root() / "examples/department_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


client = _example_client()


def take_all(uri: str, queue: str) -> list[amqp.Message]:
    conn = open_connection(uri)
    try:
        channel = conn.channel()
        messages = []
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            messages.append(message)
        return messages
    finally:
        conn.close()


def test_a_department_queue_keeps_its_copies_while_its_system_is_offline_and_a_replay_refills_it(
    start_producer, rpc, amqp_uri, producer_db
):
    # At start, the service declares a queue for every department it knows; no system is connected.
    assert declare_department_queues(amqp_uri, ["water", "cityman", "thing"]) == [
        "department.water",
        "department.cityman",
        "department.thing",
    ]
    start_producer()
    ctx = staff_context()
    rpc.producer.summon(ctx, "for-water", ["water"], "k1")
    rpc.producer.summon(ctx, "for-both", ["water", "cityman"], "k2")
    rpc.producer.make(ctx, "for-nobody", "liujia", "k3")  # a street event only
    wait_for(lambda: all(r.sent_at for r in outbox_rows(producer_db)) and len(outbox_rows(producer_db)) == 6)
    wait_for(lambda: queue_depth(amqp_uri, "department.water") == 2, what="water's two copies")
    assert queue_depth(amqp_uri, "department.cityman") == 1
    assert queue_depth(amqp_uri, "department.thing") == 0  # `thing.#` does not catch the street copies

    delivered = take_all(amqp_uri, "department.water")  # the system comes online and reads them (then loses them)
    assert [m.delivery_info["routing_key"] for m in delivered] == ["water.thing.summoned"] * 2
    bodies = [json.loads(m.body) for m in delivered]
    assert [b["subject"] for b in bodies] == ["for-water", "for-both"]
    assert [m.properties["message_id"] for m in delivered] == [b["id"] for b in bodies]
    assert all(m.properties["delivery_mode"] == 2 for m in delivered)

    # Refilled by the source, with water's copies and nothing else.
    system = CallerContext.system().to_wire()
    assert rpc.producer.replay_events(system, "department.water", EPOCH, ["water.#"]) == 2
    replayed = take_all(amqp_uri, "department.water")
    assert [json.loads(m.body)["id"] for m in replayed] == [b["id"] for b in bodies]
    assert [m.headers[ROUTING_KEY_HEADER] for m in replayed] == ["water.thing.summoned"] * 2
    assert replay_into_department(amqp_uri, "producer", "water", EPOCH) == 2  # what `python -m kit.departments` asks
    assert queue_depth(amqp_uri, "department.water") == 2
    assert queue_depth(amqp_uri, "department.cityman") == 1
    # `thing.#` into department.thing: the producer's `thing.made.liujia` street copies are not thing's.
    assert rpc.producer.replay_events(system, "department.thing", EPOCH, ["thing.#"]) == 0
    assert rpc.producer.replay_events(system, "department.water", EPOCH, ["water.thing.made"]) == 0

    for queue, keys in (("department.water", ["cityman.#"]), ("department.water", ["#"]), ("department.water", [])):
        with pytest.raises(ServiceError) as raised:
            rpc.producer.replay_events(system, queue, EPOCH, keys)
        assert raised.value.code == "REPLAY_INVALID"
    with pytest.raises(ServiceError) as raised:
        rpc.producer.replay_events(staff_context(), "department.water", EPOCH, ["water.#"])
    assert raised.value.code == "SYSTEM_ONLY"


def test_a_service_declares_a_departments_queue_when_it_learns_of_it(desk, rpc, amqp_uri):
    assert queue_depth(amqp_uri, "department.housing") is None
    assert rpc.desk.learn_department(staff_context(), "housing") == ["department.housing"]
    assert queue_depth(amqp_uri, "department.housing") == 0


def test_department_queues_follow_the_kits_queue_type(amqp_uri):
    declare_department_queues(amqp_uri, ["water"], queue_type="quorum")
    declare_department_queue(amqp_uri, "water", queue_type="quorum")  # idempotent
    conn = open_connection(amqp_uri)
    try:
        with pytest.raises(amqp.exceptions.PreconditionFailed):
            conn.channel().queue_declare("department.water", durable=True, arguments={"x-queue-type": "classic"})
    finally:
        conn.close()
    with pytest.raises(ValueError, match="department code"):
        declare_department_queue(amqp_uri, "Water.#")


@pytest.fixture
def desk(container_factory, amqp_uri, consumer_db):
    settings = make_settings(
        "desk", amqp_uri=amqp_uri, database_url=consumer_db, handler_backoff_ms=(50, 100), handler_max_attempts=3
    )
    container = container_factory(DeskService, settings)
    container.start()
    return next(e for e in container.entrypoints if e.method_name == "on_department_command")


@pytest.fixture
def water(amqp_uri, desk):
    """The water department's system: its own broker user, with only the rights it needs."""
    declare_department_queues(amqp_uri, ["water"])
    with broker_user(amqp_uri, "water.system", system_permissions("water")) as uri:
        conn = client.connect(uri)
        try:
            yield conn.channel()
        finally:
            conn.close()


def report_in(subject: str, **kwargs) -> dict:
    return client.command_envelope(
        "report_in", department="water", whistle_id=subject, street="liujia", org_path="/gd/liujia/c01/", **kwargs
    )


def test_a_command_reaches_its_handler_once_with_the_senders_broker_user(desk, water, amqp_uri, consumer_db):
    assert desk.exchange_name == "departments.commands"
    assert desk.binding_keys[0].startswith("department.*.")
    # replay off: no first-start debt, no request to a `departments` service that does not exist
    assert not desk.replay_owed
    assert queue_depth(amqp_uri, desk.replay_marker) is None

    command = report_in("w-1")
    client.publish_command(water, command, user_id="water.system")
    wait_for(lambda: effects(consumer_db) == ["water.system|department.report_in.liujia|w-1"], what="the command")
    client.publish_command(water, command, user_id="water.system")  # sent again: the inbox applies it once
    wait_for(lambda: queue_depth(amqp_uri, desk.queue_name) == 0, what="the repeat consumed")
    assert len(effects(consumer_db)) == 1

    # Headers claiming another sender and key are not believed: only the broker's user_id is.
    forged = report_in("w-forged")
    water.basic_publish_confirm(
        amqp.Message(
            json.dumps(forged),
            content_type="application/cloudevents+json",
            user_id="water.system",
            application_headers={SENDER_HEADER: "cityman.system", ROUTING_KEY_HEADER: "department.return.taihe"},
        ),
        exchange="departments.commands",
        routing_key="department.report_in.liujia",
    )
    wait_for(lambda: "water.system|department.report_in.liujia|w-forged" in effects(consumer_db), what="forged")


def test_a_command_keeps_its_sender_through_retries_and_the_dlq(desk, water, amqp_uri, consumer_db):
    client.publish_command(water, report_in("flaky-1"), user_id="water.system")  # fails once, then applies
    wait_for(lambda: effects(consumer_db) == ["water.system|department.report_in.liujia|flaky-1"], what="retried")
    # Headers a department set itself are not carried into the retry as if the kit had written them.
    water.basic_publish_confirm(
        amqp.Message(
            json.dumps(report_in("flaky-forged")),
            content_type="application/cloudevents+json",
            user_id="water.system",
            application_headers={SENDER_HEADER: "cityman.system", ROUTING_KEY_HEADER: "department.return.taihe"},
        ),
        exchange="departments.commands",
        routing_key="department.report_in.liujia",
    )
    expected = "water.system|department.report_in.liujia|flaky-forged"
    wait_for(lambda: expected in effects(consumer_db), what="the forged command, retried")

    # Without a user_id the sender is unknown: parked in the DLQ, unapplied, and it stays so when replayed.
    anonymous = report_in("w-anon")
    water.basic_publish_confirm(
        amqp.Message(json.dumps(anonymous), content_type="application/cloudevents+json"),
        exchange="departments.commands",
        routing_key="department.report_in.liujia",
    )
    wait_for(lambda: queue_depth(amqp_uri, desk.dlq_name) == 1, what="the anonymous command parked")
    [letter] = list_dead_letters(amqp_uri, desk.queue_name)
    assert letter.error.startswith("no broker-validated user_id")
    assert letter.routing_key == "department.report_in.liujia"
    assert replay_dead_letters(amqp_uri, desk.queue_name) == 1  # replayed by ops (the kit's own broker user)
    wait_for(lambda: queue_depth(amqp_uri, desk.dlq_name) == 1 and queue_depth(amqp_uri, desk.queue_name) == 0)
    assert len(effects(consumer_db)) == 2


def test_the_broker_refuses_a_user_id_that_is_not_the_connections_user(desk, water):
    """Why `delivery.user_id` can be trusted: water's system cannot send as anyone else."""
    with pytest.raises(amqp.exceptions.PreconditionFailed, match=r"user_id property set to 'cityman\.system'"):
        client.publish_command(water, report_in("w-2"), user_id="cityman.system")


def test_a_departments_system_reads_only_its_queue_and_writes_only_commands(desk, water, amqp_uri):
    declare_department_queues(amqp_uri, ["cityman"])
    with pytest.raises(amqp.exceptions.AccessRefused):
        water.connection.channel().basic_get("department.cityman")
    with pytest.raises(amqp.exceptions.AccessRefused):
        water.connection.channel().basic_publish_confirm(
            amqp.Message(b"{}", user_id="water.system"), exchange="departments", routing_key="cityman.x.y"
        )
    # nor straight into a queue (what retries and replays do, so their headers can be believed)
    with pytest.raises(amqp.exceptions.AccessRefused):
        water.connection.channel().basic_publish_confirm(
            amqp.Message(b"{}", user_id="water.system"), exchange="", routing_key=desk.queue_name
        )


def test_the_example_client_reads_its_queue_and_reports_in(start_producer, desk, amqp_uri, rpc, consumer_db):
    declare_department_queues(amqp_uri, ["water"])
    start_producer()
    rpc.producer.summon(staff_context(), "blown-1", ["water"], "k1")
    with broker_user(amqp_uri, "water.system", system_permissions("water")) as uri:
        seen = []

        def on_event(event, channel):
            seen.append(event)
            reply = report_in(event["subject"], correlation_id=event["correlationid"])
            client.publish_command(channel, reply, user_id="water.system")

        assert client.listen(uri, "water", on_event, limit=1) == 1
    assert [e["type"] for e in seen] == ["thing.summoned"]
    wait_for(lambda: effects(consumer_db) == ["water.system|department.report_in.liujia|blown-1"], what="reported")
    assert uuid.UUID(seen[0]["id"])
