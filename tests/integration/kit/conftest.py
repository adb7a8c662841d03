import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from kit.context import CallerContext
from kit.testing import make_settings
from tests.integration.kit.support import ConsumerService, ProducerService, create_schema


def staff_context() -> dict:
    return CallerContext(
        role="district_admin", scope_path="/", correlation_id=uuid.uuid4().hex, account_id="acc-1"
    ).to_wire()


@pytest.fixture
def producer_db(database_url: str) -> str:
    create_schema(database_url)
    return database_url


@pytest.fixture
def consumer_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'consumer.db'}"
    create_schema(url)
    return url


@pytest.fixture
def rpc(amqp_uri: str) -> Iterator[ClusterRpcProxy]:
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20) as proxy:
        yield proxy


@pytest.fixture
def start_producer(container_factory, amqp_uri, producer_db):
    def start(**overrides):
        container = container_factory(
            ProducerService, make_settings("producer", amqp_uri=amqp_uri, database_url=producer_db, **overrides)
        )
        container.start()
        return container

    return start


@pytest.fixture
def start_consumer(container_factory, amqp_uri, consumer_db):
    def start(**overrides):
        overrides.setdefault("handler_backoff_ms", (50, 100))
        overrides.setdefault("handler_max_attempts", 3)
        container = container_factory(
            ConsumerService, make_settings("consumer", amqp_uri=amqp_uri, database_url=consumer_db, **overrides)
        )
        container.start()
        return container

    return start
