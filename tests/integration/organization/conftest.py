import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from kit.config import Settings
from kit.context import CallerContext
from kit.migrate import upgrade
from kit.testing import seeded_database
from organization.demo.__main__ import load
from organization.service import OrganizationService


def _migrate(url: str) -> None:
    upgrade("organization", url)


def _migrate_and_load_demo(url: str) -> None:
    upgrade("organization", url)
    settings = Settings.from_env("organization", {"ORGANIZATION_DATABASE_URL": url})
    loaded, _, _ = load(settings, "Guandu@2026", records=False)  # the tree and its accounts; tests add the rest
    assert loaded


@pytest.fixture
def org_db(database_kind: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty organization database (SQLite, then PostgreSQL), copied from a session template."""
    yield from seeded_database(database_kind, "org", _migrate, tmp_path)


@pytest.fixture
def demo_db(database_kind: str, tmp_path: Path) -> Iterator[str]:
    """A migrated organization database holding the Guandu demo tree and its secretaries' and desks'
    accounts (not the generated members and records), copied from a session template."""
    yield from seeded_database(database_kind, "org-demo", _migrate_and_load_demo, tmp_path)


@pytest.fixture
def org_service(container_factory, amqp_uri, demo_db):
    env = {
        "AMQP_URI": amqp_uri,
        "ORGANIZATION_DATABASE_URL": demo_db,
        "METRICS_PORT": "0",
        "AUTH_LOCKOUT_MAX_FAILURES": "3",
    }
    container = container_factory(OrganizationService, Settings.from_env("organization", env))
    container.start()
    return container


@pytest.fixture
def rpc(amqp_uri: str, org_service) -> Iterator:
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20) as proxy:
        yield proxy.organization


@pytest.fixture
def as_user(rpc):
    """The caller context of a demo account, built from its state as the gateway does."""

    def ctx(username: str) -> dict:
        session = rpc.authenticate(CallerContext.anonymous().to_wire(), username, "Guandu@2026")
        account = session["account"]
        return CallerContext(
            role=account["role"],
            scope_path=account["scope_path"],
            correlation_id=uuid.uuid4().hex,
            account_id=account["account_id"],
            department_code=account["department_code"],
            member_id=account["member_id"],
        ).to_wire()

    return ctx
