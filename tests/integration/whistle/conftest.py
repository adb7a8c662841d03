"""The whistle service in-process against real RabbitMQ (a private vhost) and real databases (SQLite, then
PostgreSQL), beside the organization service on its demo tree: whistle's departments projection fills from
organization's replayed `org.created` events on first start, as it would in a fresh suite."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from kit.clock import FixedClock
from kit.config import Settings
from kit.context import CallerContext
from kit.dependencies import Storage
from kit.migrate import upgrade
from kit.testing import Subscriber, seeded_database, wait_for
from organization.service import OrganizationService
from tests.integration.organization.conftest import demo_db  # noqa: F401 - the organization demo tree fixture
from whistle.service import WhistleService

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Kunming, no holiday near
SCAN_SECONDS = "0.1"


def _migrate(url: str) -> None:
    upgrade("whistle", url)


@pytest.fixture
def whistle_db(database_kind: str, tmp_path: Path) -> Iterator[str]:
    """A migrated whistle database (catalogue version 1 loaded, no departments yet)."""
    yield from seeded_database(database_kind, "whistle", _migrate, tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def org_service(container_factory, amqp_uri, demo_db):  # noqa: F811 - the imported fixture
    env = {"AMQP_URI": amqp_uri, "ORGANIZATION_DATABASE_URL": demo_db, "METRICS_PORT": "0"}
    container = container_factory(OrganizationService, Settings.from_env("organization", env))
    container.start()
    return container


@pytest.fixture
def whistle_env() -> dict[str, str]:
    """More settings for the whistle containers: a test module overrides this fixture (notifications do)."""
    return {}


@pytest.fixture
def start_whistle(container_factory, amqp_uri, whistle_db, clock, whistle_env) -> Callable[[], Any]:
    """Start a whistle container on the test's database and clock (call again after a kill: a restart)."""

    class ClockedWhistleService(WhistleService):
        storage = Storage(clock)

    def start() -> Any:
        env = {
            "AMQP_URI": amqp_uri,
            "WHISTLE_DATABASE_URL": whistle_db,
            "METRICS_PORT": "0",
            "WHISTLE_DEADLINE_SCAN_SECONDS": SCAN_SECONDS,
            **whistle_env,
        }
        container = container_factory(ClockedWhistleService, Settings.from_env("whistle", env))
        container.start()
        started.append(container)
        return container

    started: list[Any] = []
    start.containers = started  # type: ignore[attr-defined]
    return start


@pytest.fixture
def rpc(amqp_uri: str, org_service, start_whistle) -> Iterator[Any]:
    start_whistle()
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20) as proxy:
        wait_for(
            lambda: len(proxy.whistle.list_departments(ctx("district_admin", "/"))["items"]) == 13,
            timeout=30,
            what="the departments projection from organization's replayed events",
        )
        yield proxy.whistle


@pytest.fixture
def events(amqp_uri: str) -> Iterator[Subscriber]:
    subscriber = Subscriber(amqp_uri, "whistle.events", ["whistle.#"])
    yield subscriber
    subscriber.close()


@pytest.fixture
def department_events(amqp_uri: str) -> Iterator[Subscriber]:
    subscriber = Subscriber(amqp_uri, "departments", ["#"])
    yield subscriber
    subscriber.close()


ACCOUNTS: dict[tuple[str, str, str | None], str] = {}


def ctx(role: str, scope_path: str, department_code: str | None = None, *, who: str = "") -> dict[str, Any]:
    """A caller context as the gateway builds one from an account's state (the same account for the same
    role, place and name within a run)."""
    account = ACCOUNTS.setdefault((role, scope_path + who, department_code), str(uuid.uuid4()))
    if role == "system":
        return CallerContext.system().to_wire()
    return CallerContext(
        role=role,
        scope_path=scope_path,
        correlation_id=uuid.uuid4().hex,
        account_id=account,
        department_code=department_code,
    ).to_wire()


def desk(code: str) -> dict[str, Any]:
    return ctx("department", f"/departments/{code}/", code)


def key() -> str:
    return uuid.uuid4().hex
