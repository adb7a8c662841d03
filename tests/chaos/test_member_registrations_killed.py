"""Nothing accepted is lost, for members: 500 registrations through the gateway, each retried by its client
with its own Idempotency-Key until it gets a 2xx, while the organization service is killed with SIGKILL
mid-stream (with requests in flight) and restarted. Every member exists exactly once, and every
member.registered reaches a subscriber's effect exactly once."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.config import Settings
from kit.context import CallerContext
from kit.dependencies import Storage
from kit.entrypoints import handle_event
from kit.harness import Suite, wait_for
from kit.orm import BigIntPK, KitBase
from kit.testing import _vhost_or_fail
from organization.demo.__main__ import node_id
from tests.member_data import member_body

N = 500
BRANCH = node_id("/gd/taihe/c03/br1/")
BASE_SEED = 4_000_000  # this test's members have ID numbers no other test uses


class EffectBase(DeclarativeBase):
    pass


class Registered(EffectBase):
    """One row per application of member.registered: no unique key, so a second application would show."""

    __tablename__ = "registered"
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(String(36))


class SubscriberService:
    name = "chaos_member_subscriber"
    storage = Storage()

    @handle_event("organization", "member.registered")
    def on_organization_member_registered(self, event: dict[str, Any]) -> None:
        with self.storage.unit(CallerContext.system(event["correlationid"])) as uow:
            uow.session.add(Registered(member_id=event["data"]["id"]))
            uow.commit()


@pytest.fixture
def suite(tmp_path):
    with _vhost_or_fail() as uri:
        running = Suite(
            tmp_path, uri, DEMO_RECORDS="none", RPC_TIMEOUT="3", SERVICE_CHECK_TTL="1", RATE_LIMIT="100000/minute"
        )
        try:
            yield running
        finally:
            running.stop()


def effects(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows, distinct = conn.execute(select(func.count(), func.count(Registered.member_id.distinct()))).one()
    engine.dispose()
    return int(rows), int(distinct)


def test_registrations_survive_a_killed_service(suite, container_factory, tmp_path):
    effects_url = f"sqlite:///{tmp_path / 'effects.db'}"
    engine = create_engine(effects_url)
    KitBase.metadata.create_all(engine)
    EffectBase.metadata.create_all(engine)
    engine.dispose()
    env = {"AMQP_URI": suite.env["AMQP_URI"], "CHAOS_MEMBER_SUBSCRIBER_DATABASE_URL": effects_url, "METRICS_PORT": "0"}
    container_factory(SubscriberService, Settings.from_env("chaos_member_subscriber", env)).start()

    suite.start()
    headers = {"Authorization": f"Bearer {suite.token('district.admin')}"}
    url = f"{suite.base_url}/api/v1/members"
    done = threading.Semaphore(0)
    outcomes: dict[int, list[int]] = {}
    member_ids: dict[int, str] = {}

    def register(i: int) -> int:
        key = uuid.uuid4().hex
        body = member_body(BRANCH, BASE_SEED + i, name=f"混沌{i:03d}")
        attempts = outcomes.setdefault(i, [])
        while True:
            try:
                response = requests.post(url, json=body, timeout=15, headers={**headers, "Idempotency-Key": key})
                status = response.status_code
            except requests.RequestException:
                status = 0
            attempts.append(status)
            if 200 <= status < 300:
                member_ids[i] = response.json()["id"]
                done.release()
                return status
            assert status in (0, 500, 502, 503, 504), f"request {i}: unexpected {status}"
            if len(attempts) > 200:
                raise AssertionError(f"request {i} never succeeded: {attempts[-5:]}")

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(register, i) for i in range(N)]
        for _ in range(N // 3):
            done.acquire(timeout=60)
        suite.processes["organization"].kill()  # SIGKILL with requests in flight
        wait_for(
            lambda: sum(s != 201 for a in list(outcomes.values()) for s in a) >= 12,
            timeout=60,
            what="clients to see the service down",
        )
        suite.start_service("organization")
        statuses = [f.result(timeout=300) for f in futures]

    assert all(200 <= s < 300 for s in statuses)
    retried = sum(1 for attempts in outcomes.values() if len(attempts) > 1)
    print(f"{N} registrations, {retried} needed retries")
    assert retried > 0, "the kill happened after every request finished: the test proved nothing"

    assert len(set(member_ids.values())) == N  # each key answered with its own member
    seen_ids, cursor = [], None
    while True:
        params = {"branch_id": BRANCH, "q": "混沌", "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = requests.get(url, params=params, headers=headers, timeout=10).json()
        seen_ids += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen_ids) == sorted(member_ids.values())  # each member exists exactly once

    wait_for(lambda: effects(effects_url)[1] == N, timeout=90, what="every member.registered at the subscriber")
    assert effects(effects_url) == (N, N)
