"""Nothing accepted is lost: 300 org creations through the gateway, each retried by its client with its own
Idempotency-Key until it gets a 2xx, while the organization service is killed with SIGKILL mid-stream (with
requests in flight) and restarted. Every creation lands exactly once, and every org.created reaches a
subscriber's effect exactly once."""

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

N = 300
PARENT = node_id("/gd/taihe/c03/")
PARENT_PATH = "/gd/taihe/c03/"


class EffectBase(DeclarativeBase):
    pass


class Seen(EffectBase):
    """One row per application of org.created: no unique key, so a second application would show."""

    __tablename__ = "seen"
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(400))


class SubscriberService:
    name = "chaos_subscriber"
    storage = Storage()

    @handle_event("organization", "org.created")
    def on_organization_org_created(self, event: dict[str, Any]) -> None:
        with self.storage.unit(CallerContext.system(event["correlationid"])) as uow:
            uow.session.add(Seen(org_id=event["data"]["id"], org_path=event["data"]["org_path"]))
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


def seen(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows, distinct = conn.execute(
            select(func.count(), func.count(Seen.org_id.distinct())).where(Seen.org_path.like(PARENT_PATH + "k%"))
        ).one()
    engine.dispose()
    return int(rows), int(distinct)


def test_creations_survive_a_killed_service(suite, container_factory, tmp_path):
    effects_url = f"sqlite:///{tmp_path / 'effects.db'}"
    engine = create_engine(effects_url)
    KitBase.metadata.create_all(engine)
    EffectBase.metadata.create_all(engine)
    engine.dispose()
    env = {"AMQP_URI": suite.env["AMQP_URI"], "CHAOS_SUBSCRIBER_DATABASE_URL": effects_url, "METRICS_PORT": "0"}
    container_factory(SubscriberService, Settings.from_env("chaos_subscriber", env)).start()

    suite.start()
    headers = {"Authorization": f"Bearer {suite.token('district.admin')}"}
    url = f"{suite.base_url}/api/v1/orgs"
    done = threading.Semaphore(0)
    outcomes: dict[int, list[int]] = {}

    def create(i: int) -> int:
        key = uuid.uuid4().hex
        body = {"parent_id": PARENT, "code": f"k{i:03d}", "name": f"第{i}小组", "level": "area"}
        attempts = outcomes.setdefault(i, [])
        while True:
            try:
                status = requests.post(
                    url, json=body, timeout=15, headers={**headers, "Idempotency-Key": key}
                ).status_code
            except requests.RequestException:
                status = 0
            attempts.append(status)
            if 200 <= status < 300:
                done.release()
                return status
            assert status in (0, 500, 502, 503, 504), f"request {i}: unexpected {status}"
            if len(attempts) > 200:
                raise AssertionError(f"request {i} never succeeded: {attempts[-5:]}")

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(create, i) for i in range(N)]
        for _ in range(N // 3):
            done.acquire(timeout=60)
        suite.processes["organization"].kill()  # SIGKILL with requests in flight
        # Stay down until clients have seen failures (timeouts of the calls in flight, 503s for new ones),
        # so that they really retry with their keys; then come back.
        wait_for(
            lambda: sum(s != 201 for a in list(outcomes.values()) for s in a) >= 12,
            timeout=60,
            what="clients to see the service down",
        )
        suite.start_service("organization")
        statuses = [f.result(timeout=300) for f in futures]

    assert all(200 <= s < 300 for s in statuses)
    retried = sum(1 for attempts in outcomes.values() if len(attempts) > 1)
    print(
        f"{N} creations, {retried} needed retries, attempts by status: "
        f"{ {s: sum(a.count(s) for a in outcomes.values()) for s in {0, 201, 500, 502, 503, 504}} }"
    )
    assert retried > 0, "the kill happened after every request finished: the test proved nothing"

    children = requests.get(f"{url}/{PARENT}/counts", headers=headers, timeout=10).json()["counts"]
    assert children["area"] == 2 + N  # the demo's two areas and exactly one per distinct key

    wait_for(lambda: seen(effects_url)[1] == N, timeout=60, what="every org.created at the subscriber")
    assert seen(effects_url) == (N, N)  # each applied exactly once
