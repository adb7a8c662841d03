"""The gateway's Flask app against the fake organization service, both on the test's private RabbitMQ vhost."""

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from gateway.app import create_app
from gateway.config import GatewayConfig
from kit.testing import make_settings
from tests.integration.gateway.fake_organization import Store, password_of, service_for

JWT_KEYS = (("k2", "b" * 40), ("k1", "a" * 40))


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store.seeded()
    yield store
    store.release_slow.set()  # never leave a worker of the fake waiting


@pytest.fixture
def organization(container_factory, amqp_uri, store):
    container = container_factory(
        service_for(store), make_settings("organization", amqp_uri=amqp_uri, database_url="sqlite://")
    )
    container.start()
    return container


@pytest.fixture
def config(amqp_uri) -> GatewayConfig:
    return GatewayConfig(jwt_keys=JWT_KEYS, amqp_uri=amqp_uri, rpc_timeout=10, rpc_pool_size=4, service_check_ttl=0.2)


@pytest.fixture
def make_client(config) -> Callable[..., FlaskClient]:
    """A test client of a new gateway app; keyword arguments override the test configuration."""

    def make(**overrides) -> FlaskClient:
        return create_app(replace(config, **overrides)).test_client()

    return make


@pytest.fixture
def client(make_client, organization) -> FlaskClient:
    return make_client()


def login(client: FlaskClient, username: str) -> dict[str, str]:
    """The Authorization header of a fresh access token for one of the fake's accounts."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password_of(username)})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def is_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status
    assert body["type"] == "https://guandu.example/problems/" + body["code"].lower().replace("_", "-")
    assert body["title"] and body["detail"]
    assert body["correlation_id"] == response.headers["X-Correlation-ID"]
    if code is not None:
        assert body["code"] == code, body
    return body
