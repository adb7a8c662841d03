"""A roster import's effect on the organization service's other callers (security review, issue 10): the
latency of `GET /api/v1/orgs` while an import runs, beside the same GET with no import running, for the
review's crafted file (10 KiB, 4 MB of sheet XML), a crafted 1 MiB one (750 MB of XML) and a valid roster of
5,000 members; with each import's own time, status and answer size. Before the fix the 10 KiB file kept the
service busy 5.7 s, every other call waiting as long, and its 422 was 189 KB.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from kit.harness import Suite, private_vhost
from organization.demo.__main__ import node_id
from tests.member_data import crafted_roster, id_number, phone, roster, unique_seed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BRANCH = node_id("/gd/liujia/c01/br2/")
IDLE_SAMPLES = int(os.environ.get("BENCH_ROSTER_IDLE_SAMPLES", "50"))


def _valid_roster(how_many: int) -> bytes:
    first = unique_seed()
    seeds = [(first + i) % 16_000_000 for i in range(how_many)]
    return roster(
        [
            {"name": f"压测{s}", "id_number": id_number(s), "phone": phone(s), "joined_party_on": "2015-07-01"}
            for s in seeds
        ]
    )


def _get(session: requests.Session, base: str) -> float:
    started = time.perf_counter()
    response = session.get(f"{base}/api/v1/orgs", params={"limit": 5}, timeout=60)
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def _during_import(session: requests.Session, base: str, content: bytes) -> tuple[list[float], float, int, int]:
    """(GET latencies in ms while the import ran, the import's seconds, its status, its answer's bytes)"""
    done: dict[str, object] = {}

    def upload() -> None:
        started = time.perf_counter()
        files = {"file": ("roster.xlsx", content, XLSX)}
        response = session.post(f"{base}/api/v1/members/import", data={"branch_id": BRANCH}, files=files, timeout=300)
        done.update(seconds=time.perf_counter() - started, status=response.status_code, size=len(response.content))

    uploader = threading.Thread(target=upload)
    uploader.start()
    latencies = []
    while uploader.is_alive():
        latencies.append(_get(session, base))
    uploader.join()
    return latencies, float(done["seconds"]), int(done["status"]), int(done["size"])  # type: ignore[arg-type]


def _figures(latencies: list[float]) -> str:
    if not latencies:
        return "no GET completed during it"
    return f"GET p50 {statistics.median(latencies):7.1f} ms  max {max(latencies):7.1f} ms  ({len(latencies)} GETs)"


def main() -> None:
    print(f"\n== roster import vs the service's other callers (GET /api/v1/orgs, {os.cpu_count()} cores)")
    uploads = {
        "crafted 10 KiB (1,000 x 1,000 empty cells)": crafted_roster(),
        "crafted 1 MiB (750 MB of sheet XML)": crafted_roster(target_bytes=1_000_000),
        "valid roster of 5,000 members": _valid_roster(5000),
    }
    with private_vhost() as uri, tempfile.TemporaryDirectory() as tmp:
        suite = Suite(Path(tmp), uri, DEMO_RECORDS="none", RATE_LIMIT="10000000/minute")
        try:
            suite.start()
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {suite.token('liujia.c01.secretary')}"
            _get(session, suite.base_url)  # warm up
            idle = [_get(session, suite.base_url) for _ in range(IDLE_SAMPLES)]
            print(f"  {'no import running (baseline)':52} {_figures(idle)}")
            for name, content in uploads.items():
                latencies, seconds, status, size = _during_import(session, suite.base_url, content)
                print(f"  {'during ' + name:52} {_figures(latencies)}")
                print(
                    f"  {'':52} import: {status} in {seconds:5.2f} s, {size:,} bytes answered ({len(content):,} sent)"
                )
        finally:
            suite.stop()


if __name__ == "__main__":
    main()
