"""The service runner as a real process: it stops cleanly on SIGTERM, also when the signal comes twice
(honcho signals a process group and scripts/slot.py forwards the same signal: nameko's stop called a second
time while the first is under way never returned, and the process hung until SIGKILL)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from kit.testing import service_process, wait_for, wait_ready


def test_a_second_sigterm_during_shutdown_does_not_hang_the_service(amqp_uri: str, tmp_path: Path):
    process = service_process(
        "organization", amqp_uri=amqp_uri, database_url=f"sqlite:///{tmp_path / 'org.db'}", log_dir=tmp_path
    ).start()
    try:
        wait_ready(f"http://127.0.0.1:{process.metrics_port}/readyz", process)  # type: ignore[attr-defined]
        assert process.popen is not None
        process.popen.send_signal(signal.SIGTERM)
        wait_for(lambda: "stopping services" in process.log_tail(), timeout=10, what="the stop to begin")
        process.popen.send_signal(signal.SIGTERM)
        try:
            code = process.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running 20 s after SIGTERM:\n{process.log_tail()}") from None
        assert code == 0
        assert "service stopped" in process.log_tail()
    finally:
        process.kill()
