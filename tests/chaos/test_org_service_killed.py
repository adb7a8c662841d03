"""Nothing accepted is lost: 300 org creations through the gateway, each retried by its client with its own
Idempotency-Key until it gets a 2xx, while the organization service is killed with SIGKILL mid-stream (with
requests in flight) and restarted. Every creation lands exactly once, and every org.created reaches a
subscriber's effect exactly once."""

import pytest

from organization.demo.__main__ import node_id
from tests.chaos.killing import assert_each_area_created_once, chaos_suite, post_through_a_kill, start_subscriber

N = 300
PARENT = node_id("/gd/taihe/c03/")
PARENT_PATH = "/gd/taihe/c03/"


@pytest.fixture
def suite(tmp_path):
    with chaos_suite(tmp_path) as running:
        yield running


def test_creations_survive_a_killed_service(suite, container_factory, tmp_path):
    effects = start_subscriber(container_factory, suite, tmp_path, "org.created")
    suite.start()
    headers = {"Authorization": f"Bearer {suite.token('district.admin')}"}
    bodies = [{"parent_id": PARENT, "code": f"k{i:03d}", "name": f"第{i}小组", "level": "area"} for i in range(N)]

    storm = post_through_a_kill(suite, "/api/v1/orgs", bodies, headers)

    print(f"{N} creations, {storm.retried} needed retries, attempts by status: {storm.by_status()}")
    assert storm.retried > 0, "the kill happened after every request finished: the test proved nothing"
    assert_each_area_created_once(suite, storm, headers, effects, (PARENT, PARENT_PATH), "k")
