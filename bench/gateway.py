"""Gateway `GET /api/v1/orgs/{id}` requests/s and p99 beside bare nameko RPC calls/s (`organization.get_org`)
from long-lived clients, at the same concurrency, on the same machine, with the same kind of load generator
(one OS process per concurrent client, so the generator's own CPU use can be measured and stated).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kit.harness import Suite, private_vhost

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CORES = os.cpu_count() or 1


def _http_worker(args: tuple[int, str, str, float]) -> tuple[int, list[float], float]:
    port, path, token, seconds = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    cpu0 = _cpu()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"gateway answered {response.status}")
        latencies.append(time.perf_counter() - started)
    return len(latencies), latencies, _cpu() - cpu0


def _rpc_worker(args: tuple[str, str, dict[str, Any], float]) -> tuple[int, list[float], float]:
    from nameko.standalone.rpc import ClusterRpcProxy

    uri, org_id, ctx, seconds = args
    latencies: list[float] = []
    with ClusterRpcProxy({"AMQP_URI": uri}, timeout=30) as proxy:
        cpu0 = _cpu()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            proxy.organization.get_org(ctx, org_id)
            latencies.append(time.perf_counter() - started)
        return len(latencies), latencies, _cpu() - cpu0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _run(worker: Any, args: Any) -> tuple[float, float, float, float]:
    """(per second, p50 ms, p99 ms, load generator's share of all cores)"""
    with multiprocessing.get_context("spawn").Pool(CONCURRENCY) as pool:
        started = time.perf_counter()
        results = pool.map(worker, [args] * CONCURRENCY)
        wall = time.perf_counter() - started
    count = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[1])
    cpu = sum(r[2] for r in results)
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    return count / SECONDS, statistics.median(latencies) * 1000, p99, cpu / (wall * CORES)


def main() -> None:
    print(
        f"\n== gateway GET /api/v1/orgs/{{id}} vs bare nameko RPC ({CONCURRENCY} concurrent clients, "
        f"{SECONDS:g} s each, {CORES} cores)"
    )
    with private_vhost() as uri, tempfile.TemporaryDirectory() as tmp:
        suite = Suite(
            Path(tmp), uri, DEMO_RECORDS="none", RATE_LIMIT="10000000/minute", GATEWAY_WORKERS="2", GATEWAY_THREADS="8"
        )
        try:
            suite.start()
            token = suite.token("district.admin")
            org_id = _org_id(suite, token)
            account = _account(suite, token)
            ctx = {
                "role": "district_admin",
                "scope_path": "/",
                "correlation_id": uuid.uuid4().hex,
                "account_id": account,
            }
            rpc_rate, rpc_p50, rpc_p99, rpc_cpu = _run(_rpc_worker, (uri, org_id, ctx, SECONDS))
            http_rate, http_p50, http_p99, http_cpu = _run(
                _http_worker, (suite.gateway_port, f"/api/v1/orgs/{org_id}", token, SECONDS)
            )
        finally:
            suite.stop()
    print(
        f"  bare nameko RPC (baseline)   {rpc_rate:8,.0f} calls/s    p50 {rpc_p50:6.1f} ms   p99 {rpc_p99:6.1f} ms"
        f"   load generator used {rpc_cpu:4.0%} of the cores"
    )
    print(
        f"  gateway over HTTP            {http_rate:8,.0f} requests/s p50 {http_p50:6.1f} ms   p99 {http_p99:6.1f} ms"
        f"   load generator used {http_cpu:4.0%} of the cores"
    )
    print(f"  ratio gateway / bare RPC     {http_rate / rpc_rate:8.2f}")
    print(
        "  (the gateway does more per request: JWT check, account state (cached), rate limit, schema dump, "
        "metrics, and then the same RPC)"
    )


def _org_id(suite: Suite, token: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", suite.gateway_port, timeout=30)
    conn.request("GET", "/api/v1/orgs?level=street&limit=1", headers={"Authorization": f"Bearer {token}"})
    return str(json.loads(conn.getresponse().read())["items"][0]["id"])


def _account(suite: Suite, token: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", suite.gateway_port, timeout=30)
    conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return str(json.loads(conn.getresponse().read())["account_id"])


if __name__ == "__main__":
    main()
