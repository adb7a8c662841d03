"""The login limit holds across the gateway's workers under `make run`: its environment points every worker at
one Redis, so 24 quick logins with one username get exactly the documented 10 answers and 14 refusals (counted
per worker, the two gunicorn workers would let about twice as many through)."""

import importlib.util
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kit.harness import Suite
from kit.testing import _vhost_or_fail

ROOT = Path(__file__).resolve().parents[2]


def make_run_environment() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("run_suite", ROOT / "scripts" / "run_suite.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.environment({}))


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory) -> Iterator[Suite]:
    redis_url = make_run_environment().get("REDIS_URL", "")
    with _vhost_or_fail() as uri:
        running = Suite(
            tmp_path_factory.mktemp("limits"),
            uri,
            DEMO_RECORDS="none",
            GATEWAY_WORKERS="2",
            LOGIN_RATE_LIMIT="10/minute",
            REDIS_URL=redis_url,
        )
        try:
            yield running.start()
        finally:
            running.stop()


def test_the_login_limit_is_counted_once_for_all_workers(two_workers):
    username = f"nobody.{uuid.uuid4().hex[:8]}"
    statuses = Counter(
        # a new connection each time, so gunicorn hands the logins to both workers
        requests.post(
            f"{two_workers.base_url}/api/v1/auth/token", json={"username": username, "password": "x"}, timeout=10
        ).status_code
        for _ in range(24)
    )
    assert statuses == {401: 10, 429: 14}
