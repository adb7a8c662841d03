"""End-to-end: the services and the gateway run as real processes (gunicorn, kit.runner) on SQLite files and
a private RabbitMQ virtual host; tests speak HTTP to the gateway only."""

from collections.abc import Iterator

import pytest
import requests

from kit.harness import Suite
from kit.testing import _vhost_or_fail


@pytest.fixture(scope="session")
def suite(tmp_path_factory) -> Iterator[Suite]:
    with _vhost_or_fail() as uri:
        # Short caches and a quick overdue scan, so disabling an account, switching a street's module off and
        # an item going overdue show within a second or two (the tests poll with deadlines); every test logs in
        # from one address, so the per-address login limit is raised (tests/integration/gateway checks limits).
        running = Suite(
            tmp_path_factory.mktemp("suite"),
            uri,
            ACCOUNT_STATE_TTL="1",
            FOUR_LISTS_OVERDUE_SCAN_SECONDS="1",
            LOGIN_RATE_LIMIT="600/minute",
        )
        try:
            yield running.start()
        finally:
            running.stop()


class Client:
    """An HTTP client of the gateway acting as one demo account."""

    def __init__(self, suite: Suite, username: str | None = None) -> None:
        self.base = suite.base_url
        self.session = requests.Session()
        if username:
            self.session.headers["Authorization"] = f"Bearer {suite.token(username)}"

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.session.post(self.base + path, timeout=30, **kw)

    def patch(self, path: str, **kw) -> requests.Response:
        return self.session.patch(self.base + path, timeout=30, **kw)

    def put(self, path: str, **kw) -> requests.Response:
        return self.session.put(self.base + path, timeout=30, **kw)


@pytest.fixture(scope="session")
def as_user(suite):
    clients: dict[str, Client] = {}

    def client(username: str) -> Client:
        if username not in clients:
            clients[username] = Client(suite, username)
        return clients[username]

    return client


@pytest.fixture
def anonymous(suite) -> Client:
    return Client(suite)
