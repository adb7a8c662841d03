"""A stopped service: its routes and the gateway's readiness answer 503, and nothing is published to its
RPC queue (a durable queue would keep the call and run it long after the client gave up)."""

import pytest
import requests

from kit.harness import Suite, queue_depth, wait_for
from kit.testing import _vhost_or_fail
from organization.demo.__main__ import node_id


@pytest.fixture
def suite(tmp_path):
    with _vhost_or_fail() as uri:
        running = Suite(tmp_path, uri, DEMO_RECORDS="none")
        try:
            yield running.start()
        finally:
            running.stop()


def test_routes_of_a_stopped_service_answer_503_without_publishing(suite):
    token = suite.token("district.admin")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{suite.base_url}/api/v1/orgs/{node_id('/gd/liujia/')}"
    assert requests.get(url, headers=headers, timeout=10).status_code == 200

    suite.processes["organization"].stop()
    uri = suite.env["AMQP_URI"]

    def down() -> bool:
        return requests.get(f"{suite.base_url}/readyz", timeout=5).status_code == 503

    wait_for(down, timeout=20, what="the gateway to see the service gone")
    ready = requests.get(f"{suite.base_url}/readyz", timeout=5).json()
    assert "organization" in str(ready)
    for _ in range(5):
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 503
        assert response.headers["Content-Type"].startswith("application/problem+json")
        posted = requests.post(
            f"{suite.base_url}/api/v1/orgs",
            headers=headers,
            timeout=10,
            json={"parent_id": node_id("/gd/liujia/c01/"), "code": "zz", "name": "x", "level": "area"},
        )
        assert posted.status_code == 503
    assert queue_depth(uri, "rpc-organization") == 0

    suite.start_service("organization")
    wait_for(
        lambda: requests.get(url, headers=headers, timeout=10).status_code == 200, timeout=30, what="the service back"
    )
    assert requests.get(f"{suite.base_url}/readyz", timeout=5).status_code == 200
