"""End-to-end: the services and the gateway run as real processes (gunicorn, kit.runner) on SQLite files and
a private RabbitMQ virtual host; tests speak HTTP to the gateway only."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kit.harness import Suite
from kit.testing import running_suite


@pytest.fixture(scope="session")
def suite(tmp_path_factory) -> Iterator[Suite]:
    # Short caches and a quick overdue scan, so disabling an account, switching a street's module off and an
    # item going overdue show within a second or two (the tests poll with deadlines); every test logs in from one
    # address, so the per-address login limit is raised (tests/integration/gateway checks limits).
    with running_suite(
        tmp_path_factory.mktemp("suite"),
        ACCOUNT_STATE_TTL="1",
        FOUR_LISTS_OVERDUE_SCAN_SECONDS="1",
        LOGIN_RATE_LIMIT="600/minute",
        RATE_LIMIT="6000/minute",  # the bad-input sweeps send hundreds of requests as one account
    ) as running:
        yield running
    unmasked = unmasked_personal_data(running.workdir)
    assert not unmasked, f"unmasked ID numbers or phones in the suite's logs: {unmasked[:5]}"


# An 18-character ID number (last character a digit or X) or a mainland mobile number, standing alone: what a
# masked value (530102********1234, 138****5678) never is. Hex ids and timestamps do not match either shape.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


def unmasked_personal_data(workdir: Path) -> list[str]:
    """Every ID-number- or phone-shaped value in any log line any process of the suite wrote this session:
    the demo's 21,000 members and every member the tests registered passed through these processes."""
    found: list[str] = []
    for log in sorted(workdir.glob("*.log")):
        for number, line in enumerate(log.read_text(errors="replace").splitlines(), start=1):
            found += [f"{log.name}:{number}: {m}" for m in ID_NUMBER.findall(line) + MOBILE.findall(line)]
    return found


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
