"""What the "nothing accepted is lost" chaos tests share: a suite whose gateway notices a stopped service
quickly, a subscriber that records every application of one event type (no unique key, so a second
application of the same event would show), and clients that post through a SIGKILL of the organization
service, each retrying with its own Idempotency-Key until it gets a 2xx."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

RETRYABLE = (0, 500, 502, 503, 504)  # 0: the connection failed


class EffectBase(DeclarativeBase):
    pass


class Applied(EffectBase):
    """One row per application of an event."""

    __tablename__ = "applied"
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(400))


@contextmanager
def chaos_suite(tmp_path: Path) -> Iterator[Suite]:
    with _vhost_or_fail() as uri:
        running = Suite(
            tmp_path, uri, DEMO_RECORDS="none", RPC_TIMEOUT="3", SERVICE_CHECK_TTL="1", RATE_LIMIT="100000/minute"
        )
        try:
            yield running
        finally:
            running.stop()


def start_subscriber(container_factory: Any, suite: Suite, tmp_path: Path, event_type: str) -> str:
    """A service applying every `event_type` of the organization service to its own database; its URL."""
    url = f"sqlite:///{tmp_path / 'effects.db'}"
    engine = create_engine(url)
    KitBase.metadata.create_all(engine)
    EffectBase.metadata.create_all(engine)
    engine.dispose()

    def apply(self: Any, event: dict[str, Any]) -> None:
        with self.storage.unit(CallerContext.system(event["correlationid"])) as uow:
            uow.session.add(Applied(subject=event["data"]["id"], org_path=event["data"]["org_path"]))
            uow.commit()

    handler = f"on_organization_{event_type.replace('.', '_')}"
    apply.__name__ = handler
    service = type(
        "ChaosSubscriber",
        (),
        {"name": "chaos_subscriber", "storage": Storage(), handler: handle_event("organization", event_type)(apply)},
    )
    env = {"AMQP_URI": suite.env["AMQP_URI"], "CHAOS_SUBSCRIBER_DATABASE_URL": url, "METRICS_PORT": "0"}
    container_factory(service, Settings.from_env("chaos_subscriber", env)).start()
    return url


def applied(url: str, path_prefix: str = "/") -> tuple[int, int]:
    """(applications, distinct subjects) of the events under `path_prefix`."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows, distinct = conn.execute(
            select(func.count(), func.count(Applied.subject.distinct())).where(Applied.org_path.like(path_prefix + "%"))
        ).one()
    engine.dispose()
    return int(rows), int(distinct)


@dataclass
class Storm:
    attempts: dict[int, list[int]] = field(default_factory=dict)  # request -> the status of each try
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)  # request -> its 2xx body

    @property
    def retried(self) -> int:
        return sum(1 for tries in self.attempts.values() if len(tries) > 1)

    def by_status(self) -> dict[int, int]:
        statuses = sorted({s for tries in self.attempts.values() for s in tries})
        return {s: sum(tries.count(s) for tries in self.attempts.values()) for s in statuses}


def post_through_a_kill(suite: Suite, path: str, bodies: list[dict[str, Any]], headers: dict[str, str]) -> Storm:
    """`post_through` a SIGKILL of the organization service, with requests in flight, and its restart."""
    return post_through(
        suite,
        path,
        bodies,
        headers,
        stop=suite.processes["organization"].kill,
        start=lambda: suite.start_service("organization"),
    )


def post_through(
    suite: Suite,
    path: str,
    bodies: list[dict[str, Any]],
    headers: dict[str, str],
    *,
    stop: Callable[[], object],
    start: Callable[[], object],
) -> Storm:
    """POST every body (12 clients at a time), each with its own Idempotency-Key and retried with it until 2xx;
    once a third have landed, `stop` something with requests in flight, keep it down until clients have seen
    failures (so they really retry), then `start` it again."""
    storm, done = Storm(), threading.Semaphore(0)
    url = suite.base_url + path

    def post(i: int) -> int:
        """One client: retries with the same key, backing off as a real client would (50 ms, doubling, at
        most 1 s between tries), for up to 90 s."""
        key, tries = uuid.uuid4().hex, storm.attempts.setdefault(i, [])
        deadline, pause = time.monotonic() + 90, 0.05
        while time.monotonic() < deadline:
            try:
                response = requests.post(url, json=bodies[i], timeout=15, headers={**headers, "Idempotency-Key": key})
                tries.append(response.status_code)
            except requests.RequestException:
                tries.append(0)
            if 200 <= tries[-1] < 300:
                storm.answers[i] = response.json()
                done.release()
                return tries[-1]
            assert tries[-1] in RETRYABLE, f"request {i}: unexpected {tries[-1]}: {response.text[:300]}"
            time.sleep(pause)  # a client's backoff between its own tries, not a wait for a message
            pause = min(pause * 2, 1.0)
        raise AssertionError(f"request {i} never succeeded in 90 s: {tries[-5:]}")

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(post, i) for i in range(len(bodies))]
        for _ in range(len(bodies) // 3):
            done.acquire(timeout=60)
        stop()
        wait_for(
            lambda: sum(s not in (200, 201) for tries in list(storm.attempts.values()) for s in tries) >= 12,
            timeout=60,
            what="clients to see the failure",
        )
        start()
        for future in futures:
            future.result(timeout=300)
    return storm


def assert_each_area_created_once(
    suite: Suite, storm: Storm, headers: dict[str, str], effects: str, parent: tuple[str, str], prefix: str
) -> None:
    """Every area posted in `storm` under `parent` (id, path) exists once (beside the demo's two), and every
    org.created of them reached the subscriber's effect exactly once."""
    n = len(storm.attempts)
    parent_id, parent_path = parent
    assert len({answer["id"] for answer in storm.answers.values()}) == n  # each key answered with its own node
    counts = requests.get(f"{suite.base_url}/api/v1/orgs/{parent_id}/counts", headers=headers, timeout=10).json()
    assert counts["counts"]["area"] == 2 + n  # the demo's two areas and exactly one per distinct key
    wait_for(lambda: applied(effects, parent_path + prefix)[1] == n, timeout=90, what="every org.created applied")
    assert applied(effects, parent_path + prefix) == (n, n)  # each applied exactly once
