import uuid
from collections.abc import Iterator

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from kit.config import Settings
from kit.context import CallerContext
from kit.migrate import upgrade
from organization.demo.__main__ import load
from organization.service import OrganizationService


@pytest.fixture
def org_db(database_url: str) -> str:
    upgrade("organization", database_url)
    return database_url


@pytest.fixture
def demo_db(org_db: str) -> str:
    env = {"ORGANIZATION_DATABASE_URL": org_db}
    loaded, _, _ = load(Settings.from_env("organization", env), "Guandu@2026")
    assert loaded
    return org_db


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
