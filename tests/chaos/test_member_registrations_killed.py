"""Nothing accepted is lost, for members: 500 registrations through the gateway, each retried by its client
with its own Idempotency-Key until it gets a 2xx, while the organization service is killed with SIGKILL
mid-stream (with requests in flight) and restarted. Every member exists exactly once, and every
member.registered reaches a subscriber's effect exactly once."""

import pytest
import requests

from kit.harness import wait_for
from organization.demo.__main__ import node_id
from tests.chaos.killing import applied, chaos_suite, post_through_a_kill, start_subscriber
from tests.member_data import member_body

N = 500
BRANCH = node_id("/gd/taihe/c03/br1/")
BASE_SEED = 4_000_000  # this test's members have ID numbers no other test uses


@pytest.fixture
def suite(tmp_path):
    with chaos_suite(tmp_path) as running:
        yield running


def test_registrations_survive_a_killed_service(suite, container_factory, tmp_path):
    effects = start_subscriber(container_factory, suite, tmp_path, "member.registered")
    suite.start()
    headers = {"Authorization": f"Bearer {suite.token('district.admin')}"}
    bodies = [member_body(BRANCH, BASE_SEED + i, name=f"混沌{i:03d}") for i in range(N)]

    storm = post_through_a_kill(suite, "/api/v1/members", bodies, headers)

    print(f"{N} registrations, {storm.retried} needed retries, attempts by status: {storm.by_status()}")
    assert storm.retried > 0, "the kill happened after every request finished: the test proved nothing"
    member_ids = sorted(answer["id"] for answer in storm.answers.values())
    assert len(set(member_ids)) == N  # each key answered with its own member
    listed, cursor = [], None
    while True:
        params = {"branch_id": BRANCH, "q": "混沌", "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{suite.base_url}/api/v1/members", params=params, headers=headers, timeout=10).json()
        listed += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(listed) == member_ids  # each member exists exactly once
    wait_for(lambda: applied(effects)[1] == N, timeout=90, what="every member.registered applied")
    assert applied(effects) == (N, N)  # each applied exactly once
