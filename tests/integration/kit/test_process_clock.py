"""A service container given TEST_CLOCK_FILE under GUANDU_ENV=test reads its time from that file (so a test can
move a running process's time, and a restarted one on the same database sees the same time); without
GUANDU_ENV=test the container refuses to start."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.rpc import rpc

from kit.clock import ClockFileRefused, FileClock, isoformat_z
from kit.dependencies import Storage
from kit.rpc_client import RpcClient
from kit.testing import make_settings

WHEN = datetime(2027, 2, 1, 1, 0, tzinfo=UTC)


class TimedService:
    name = "timed"
    storage = Storage()

    @rpc
    def now(self):
        return isoformat_z(self.storage.clock.now())


def test_a_process_reads_its_time_from_the_clock_file(container_factory, amqp_uri, tmp_path):
    path = tmp_path / "now"
    path.write_text(isoformat_z(WHEN))
    extra = {"GUANDU_ENV": "test", "TEST_CLOCK_FILE": str(path)}
    settings = make_settings("timed", amqp_uri=amqp_uri, database_url=f"sqlite:///{tmp_path / 't.db'}", extra=extra)
    container_factory(TimedService, settings).start()
    client = RpcClient(amqp_uri, timeout=10)
    try:
        assert client.call("timed", "now") == "2027-02-01T01:00:00Z"
        FileClock(path).set(WHEN + timedelta(days=2))  # the test moves the running process's time
        assert client.call("timed", "now") == "2027-02-03T01:00:00Z"
    finally:
        client.close()


def test_without_the_test_environment_the_clock_file_stops_the_start(container_factory, amqp_uri, tmp_path):
    path = tmp_path / "now"
    path.write_text(isoformat_z(WHEN))
    settings = make_settings(
        "timed", amqp_uri=amqp_uri, database_url=f"sqlite:///{tmp_path / 't.db'}", extra={"TEST_CLOCK_FILE": str(path)}
    )
    with pytest.raises(ClockFileRefused):
        container_factory(TimedService, settings).start()
