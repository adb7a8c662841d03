"""`python -m kit.runner whistle` as a real process: it migrates its database at start (the shipped catalogue
loaded as version 1), answers RPC, serves /readyz on its ops port and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import requests
from nameko.standalone.rpc import ClusterRpcProxy

from kit.testing import service_process, wait_ready
from tests.integration.whistle.conftest import ctx


def test_the_runner_migrates_serves_and_stops(amqp_uri: str, tmp_path: Path):
    db = tmp_path / "whistle.db"
    process = service_process(
        "whistle", amqp_uri=amqp_uri, database_url=f"sqlite:///{db}", log_dir=tmp_path, REPLAY_ON_FIRST_START="false"
    ).start()
    try:
        ready = f"http://127.0.0.1:{process.metrics_port}/readyz"  # type: ignore[attr-defined]
        wait_ready(ready, process)
        assert requests.get(ready, timeout=5).json()["checks"]["serving"] is True
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20) as proxy:
            kinds = proxy.whistle.list_kinds(ctx("community_secretary", "/gd/wujing/c01/"))
        assert kinds["version"] == 1 and len(kinds["items"]) == 4
        assert sqlite3.connect(db).execute("SELECT count(*) FROM catalogue_versions").fetchone() == (1,)
        assert process.popen is not None
        process.popen.send_signal(signal.SIGTERM)
        assert process.popen.wait(timeout=20) == 0
        assert "service stopped" in process.log_tail()
    finally:
        process.kill()
