"""Test fixtures every service shares (a pytest plugin: `pytest_plugins = ["kit.testing"]`).

Integration and end-to-end tests run against real RabbitMQ and real databases: each test session gets its
own RabbitMQ virtual host (so a suite running on the same broker is never disturbed) and PostgreSQL tests
get a fresh database. Nothing here sleeps to wait for a message: `wait_for` polls with a deadline.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, text

from kit.config import Settings
from kit.harness import (
    Process,
    Subscriber,
    free_port,
    private_vhost,
    queue_depth,
    service_process,
    wait_for,
    wait_ready,
)

__all__ = [  # the fixtures are found by pytest; these helpers are re-exported for tests to import from here
    "Process",
    "Subscriber",
    "free_port",
    "make_settings",
    "postgres_database",
    "private_vhost",
    "queue_depth",
    "service_process",
    "wait_for",
    "wait_ready",
]

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# -- RabbitMQ ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _vhost_or_fail() -> Iterator[str]:
    try:
        cm = private_vhost()
        uri = cm.__enter__()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield uri
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture
def amqp_uri() -> Iterator[str]:
    """A fresh virtual host per test: queues, their types and their leftovers never leak between tests."""
    with _vhost_or_fail() as uri:
        yield uri


@pytest.fixture(scope="module")
def module_amqp_uri() -> Iterator[str]:
    """One virtual host for a module whose tests share running processes (end-to-end suites)."""
    with _vhost_or_fail() as uri:
        yield uri


# -- databases -----------------------------------------------------------------------------------------
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; skipped (failed under CI=true) when unreachable."""
    problem = _postgres_reachable()
    if problem is not None:
        message = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    name = f"guandu_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test that takes this runs twice: on an SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, for what only PostgreSQL does (SKIP LOCKED, several replicas)."""
    with postgres_database() as url:
        yield url


def make_settings(service: str, *, amqp_uri: str, database_url: str, **overrides: Any) -> Settings:
    env = {"AMQP_URI": amqp_uri, f"{service.upper()}_DATABASE_URL": database_url, "METRICS_PORT": "0"}
    settings = Settings.from_env(service, env)
    return replace(settings, **overrides)


# -- processes -----------------------------------------------------------------------------------------
# -- nameko containers in the test process -------------------------------------------------------------
@pytest.fixture
def container_factory() -> Iterator[Callable[..., Any]]:
    """nameko containers built from kit settings; killed at the end of the test."""
    from nameko.containers import ServiceContainer

    containers: list[Any] = []

    def make(service_cls: type, settings: Settings) -> Any:
        container = ServiceContainer(service_cls, settings.nameko_config())
        containers.append(container)
        return container

    yield make
    for container in containers:
        with contextlib.suppress(Exception):
            container.kill()
