"""Time limits that hold, end to end: the whistle service runs as a process whose time is a test clock file
(`TEST_CLOCK_FILE`, honoured only under `GUANDU_ENV=test`), organization and the gateway on the wall clock. An
unanswered emergency whistle (燃气泄漏: report in within an hour) is reminded at half its hour; the service then
crashes (SIGKILL), the clock moves past the hour, and the restarted process (the same database) announces at
once that it is overdue and escalates it to the street secretary, and an hour later to the district: each
once, read through the gateway in the whistle's history, which still verifies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from kit.clock import FileClock
from kit.harness import Suite, wait_for
from kit.testing import module_amqp_uri  # noqa: F401 - the module's virtual host fixture

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Kunming
SECRETARY = "wujing.c01.secretary"
WHISTLE_ENV = {"GUANDU_ENV": "test", "WHISTLE_DEADLINE_SCAN_SECONDS": "0.2"}


class Timed:
    """The suite with the whistle process on the clock file."""

    def __init__(self, suite: Suite, clock_path: Path) -> None:
        self.suite = suite
        self.clock = FileClock(clock_path)
        self.env = {**WHISTLE_ENV, "TEST_CLOCK_FILE": str(clock_path)}
        self.session = requests.Session()

    def start_whistle(self) -> None:
        self.suite.start_service("whistle", **self.env)

    def login(self) -> None:
        self.session.headers["Authorization"] = f"Bearer {self.suite.token(SECRETARY)}"

    def call(self, method: str, path: str, **kw: Any) -> Any:
        response = self.session.request(method, self.suite.base_url + path, timeout=30, **kw)
        assert response.status_code in (200, 201), response.text
        return response.json()


@pytest.fixture(scope="module")
def timed(tmp_path_factory, module_amqp_uri) -> Iterator[Timed]:  # noqa: F811 - the imported fixture
    workdir = tmp_path_factory.mktemp("timed")
    clock_path = workdir / "now"
    clock_path.write_text("2026-03-02T01:00:00Z")
    suite = Suite(workdir, module_amqp_uri, DEMO_RECORDS="none", RATE_LIMIT="6000/minute")
    running = Timed(suite, clock_path)
    try:
        suite.load_demo()
        suite.start_service("organization")
        running.start_whistle()
        suite.start_gateway()
        wait_for(
            lambda: requests.get(f"{suite.base_url}/readyz", timeout=2).status_code == 200,
            timeout=30,
            what="the gateway's readiness",
        )
        running.login()
        yield running
    finally:
        suite.stop()


def _gas(entries: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """What the history announced for the lead (gas) on its report-in clock: (action, percent or level)."""
    return Counter(
        (e["action"], str(e["data"].get("percent") or e["data"].get("level") or ""))
        for e in entries
        if e["action"] in ("whistle.reminded", "whistle.overdue", "whistle.escalated")
        and e["data"].get("department") == "gas"
        and e["data"].get("clock") == "report_in"
    )


def test_an_unanswered_emergency_is_reminded_then_escalated_across_a_crash(timed):
    body = {"description": "楼道里有很浓的燃气味", "situation_code": "gas_leak"}
    wid = timed.call("POST", "/api/v1/whistles", json=body, headers={"Idempotency-Key": "gas-1"})["id"]
    blown = timed.call("POST", f"/api/v1/whistles/{wid}/blow", json={}, headers={"Idempotency-Key": "gas-2"})
    assert blown["created_at"] == "2026-03-02T01:00:00Z"  # the process's time is the file's
    [due] = [d["report_in_due"] for d in blown["departments"] if d["code"] == "gas"]
    assert due == "2026-03-02T02:00:00Z"
    history = f"/api/v1/whistles/{wid}/history"

    def announced() -> Counter[tuple[str, str]]:
        return _gas(timed.call("GET", history)["entries"])

    timed.clock.set(T0 + timedelta(minutes=31))  # past half the hour
    wait_for(lambda: announced()[("whistle.reminded", "50")] == 1, what="the 50% reminder")

    timed.suite.processes["whistle"].kill()  # a crash: no clean-up
    timed.clock.set(T0 + timedelta(minutes=61))  # past the hour while the service was down
    timed.start_whistle()  # the same database; the eager scan runs at once
    wait_for(lambda: announced()[("whistle.escalated", "street")] == 1, what="overdue and escalated to the street")
    expected = Counter({("whistle.reminded", "50"): 1, ("whistle.overdue", ""): 1, ("whistle.escalated", "street"): 1})
    assert announced() == expected  # no 80% reminder once overdue; nothing twice across the restart

    timed.clock.set(T0 + timedelta(minutes=121))  # overdue as long again as it was allowed
    wait_for(lambda: announced()[("whistle.escalated", "district")] == 1, what="escalated to the district")
    assert announced() == expected + Counter({("whistle.escalated", "district"): 1})
    listed = timed.call("GET", "/api/v1/whistles", params={"overdue": "true"})["items"]
    assert [w["id"] for w in listed] == [wid]
    assert timed.call("GET", f"{history}/verify")["sound"] is True
