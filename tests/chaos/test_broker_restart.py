"""Nothing accepted is lost on a broker restart: org creations through the gateway, each retried by its client
with its own Idempotency-Key until it gets a 2xx, while RabbitMQ itself stops and starts again mid-stream
(`rabbitmqctl stop_app` / `start_app`: every connection drops; durable queues and persistent messages stay).
The service, its outbox relay, the gateway's pooled RPC clients and the subscriber all reconnect by themselves:
every creation lands once, and every org.created reaches the subscriber's effect exactly once."""

import pytest

from kit.amqp import open_connection
from kit.harness import rabbitmqctl, wait_for
from kit.testing import unavailable
from organization.demo.__main__ import node_id
from tests.chaos.killing import assert_each_area_created_once, chaos_suite, post_through, start_subscriber

N = 200
PARENT = node_id("/gd/guanshang/c02/")
PARENT_PATH = "/gd/guanshang/c02/"


def broker(command: str) -> None:
    assert rabbitmqctl(command), f"rabbitmqctl {command} failed"


@pytest.fixture
def broker_control() -> None:
    if not rabbitmqctl("status"):
        unavailable("cannot control the local RabbitMQ with rabbitmqctl")


@pytest.fixture
def suite(tmp_path, broker_control):
    with chaos_suite(tmp_path) as running:
        yield running


def broker_answers(uri: str) -> bool:
    open_connection(uri).close()
    return True


def test_creations_survive_a_broker_restart(suite, container_factory, tmp_path):
    effects = start_subscriber(container_factory, suite, tmp_path, "org.created")
    suite.start()
    headers = {"Authorization": f"Bearer {suite.token('district.admin')}"}
    bodies = [{"parent_id": PARENT, "code": f"r{i:03d}", "name": f"第{i}楼组", "level": "area"} for i in range(N)]

    def start_broker() -> None:
        broker("start_app")
        wait_for(lambda: broker_answers(suite.env["AMQP_URI"]), timeout=60, what="the broker back")

    try:
        storm = post_through(
            suite, "/api/v1/orgs", bodies, headers, stop=lambda: broker("stop_app"), start=start_broker
        )
    finally:
        rabbitmqctl("start_app")  # whatever happened, the broker is left running

    print(f"{N} creations through a broker restart, {storm.retried} needed retries, by status: {storm.by_status()}")
    assert storm.retried > 0, "the restart happened after every request finished: the test proved nothing"
    assert_each_area_created_once(suite, storm, headers, effects, (PARENT, PARENT_PATH), "r")
