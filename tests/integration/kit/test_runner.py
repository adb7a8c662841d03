"""The service runner as a real process: it stops cleanly on SIGTERM, also when the signal comes twice
(honcho signals a process group and scripts/slot.py forwards the same signal: nameko's stop called a second
time while the first is under way never returned, and the process hung until SIGKILL), and also when the
signal comes while the container is still starting (a stop racing the extensions' start hung the same way;
CI caught it once, when /readyz answered before start-up had finished)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
import requests

from kit.harness import Process
from kit.testing import service_process, wait_for, wait_ready


def organization(amqp_uri: str, tmp_path: Path) -> Process:
    return service_process(
        "organization", amqp_uri=amqp_uri, database_url=f"sqlite:///{tmp_path / 'org.db'}", log_dir=tmp_path
    ).start()


def assert_stops_cleanly(process: Process) -> None:
    assert process.popen is not None
    try:
        code = process.popen.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running 20 s after SIGTERM:\n{process.log_tail()}") from None
    assert code == 0
    assert "service stopped" in process.log_tail()


def test_a_second_sigterm_during_shutdown_does_not_hang_the_service(amqp_uri: str, tmp_path: Path):
    process = organization(amqp_uri, tmp_path)
    try:
        ready = f"http://127.0.0.1:{process.metrics_port}/readyz"  # type: ignore[attr-defined]
        wait_ready(ready, process)
        assert requests.get(ready, timeout=5).json()["checks"]["serving"] is True
        assert process.popen is not None
        process.popen.send_signal(signal.SIGTERM)
        wait_for(lambda: "stopping services" in process.log_tail(), timeout=10, what="the stop to begin")
        process.popen.send_signal(signal.SIGTERM)
        assert_stops_cleanly(process)
    finally:
        process.kill()


@pytest.mark.parametrize("moment", ["starting services", "ops server listening"])
def test_a_sigterm_while_the_container_starts_stops_it_once_started(amqp_uri: str, tmp_path: Path, moment: str):
    process = organization(amqp_uri, tmp_path)
    try:
        wait_for(lambda: moment in process.log_tail(), timeout=30, interval=0.005, what=moment)
        assert process.popen is not None
        process.popen.send_signal(signal.SIGTERM)
        assert_stops_cleanly(process)
        log = process.log_tail(200)
        assert log.index("service started") < log.index("stopping services")
    finally:
        process.kill()
