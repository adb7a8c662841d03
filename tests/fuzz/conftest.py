"""Fuzz: schemathesis runs over the gateway's own /openapi.json against the suite as real processes with the
demo data (the same harness as tests/e2e), as several demo roles; the counts of each run are printed at the
end of the session."""

from collections.abc import Iterator

import pytest

from kit.harness import Suite
from kit.testing import running_suite

COUNTS = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def suite(tmp_path_factory) -> Iterator[Suite]:
    # Every request comes from one address and a few accounts, far faster than any person: the limits are
    # raised so that the run tests the API, not the limiter (tests/integration/gateway checks limits).
    workdir = tmp_path_factory.mktemp("suite")
    with running_suite(
        workdir,
        ACCOUNT_STATE_TTL="1",
        RATE_LIMIT="100000/minute",
        LOGIN_RATE_LIMIT="100000/minute",
        WHISTLE_DATABASE_URL=f"sqlite:///{workdir / 'whistle.db'}",
    ) as running:
        # The whistle routes (Open311 among them) are in the document: without the service every one of them
        # answers 503, which the run counts as a server error. It has no demo data yet: it starts empty.
        running.start_service("whistle")
        yield running


@pytest.fixture
def counts(request) -> list[str]:
    return request.config.stash.setdefault(COUNTS, [])


def pytest_terminal_summary(terminalreporter, config) -> None:
    for line in config.stash.get(COUNTS, []):
        terminalreporter.write_line(line)
