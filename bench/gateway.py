"""Gateway `GET /api/v1/orgs/{id}` requests/s and p99 beside bare nameko RPC calls/s (`organization.get_org`)
from long-lived clients, at the same concurrency (8 and 32 by default), on the same machine, with the same kind
of load generator (one OS process per concurrent client, so the generator's own CPU use can be measured and
stated). The machine is shared and noisy: the bare-RPC and gateway runs alternate in short rounds, so a
burst of someone else's load falls on both sides rather than on one.

Each client sends its next request as soon as it has the answer (a closed loop): with N clients and X answers
a second the mean latency is N / X (Little's law), for the gateway and the baseline alike. A closed loop at
saturation measures the queue, not the service; so the latency at 32 connections is also measured in an open
loop: 32 connections sending at a fixed rate below capacity (OPEN_LOAD, default half the bare-RPC rate at 8
clients), each request timed from when it was due to leave, not when it could (no coordinated omission).
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

CONCURRENCIES = tuple(int(n) for n in os.environ.get("BENCH_CONCURRENCY", "8,32").split(","))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))  # per side and concurrency, split into ROUNDS
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
CORES = os.cpu_count() or 1
OPEN_CONNECTIONS = int(os.environ.get("BENCH_OPEN_CONNECTIONS", "32"))
OPEN_LOAD = float(os.environ.get("BENCH_OPEN_LOAD", "0.5"))  # of the bare-RPC rate at the first concurrency


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


def _lean_worker(args: tuple[str, str, dict[str, Any], float]) -> tuple[int, list[float], float]:
    """The same call through the gateway's own client (kit.rpc_client): what the gateway's RPC costs alone."""
    from kit.rpc_client import RpcClient

    uri, org_id, ctx, seconds = args
    client = RpcClient(uri, timeout=30)
    latencies: list[float] = []
    cpu0 = _cpu()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        client.call("organization", "get_org", ctx, org_id)
        latencies.append(time.perf_counter() - started)
    client.close()
    return len(latencies), latencies, _cpu() - cpu0


def _open_loop(args: tuple[str, tuple[Any, ...], int, int, float, float, float]) -> list[float]:
    """One of `connections` connections (one process each, as the closed loop's clients), which together send
    `rate` requests a second from `start` (time.monotonic, the same clock in every process) for `seconds`;
    each latency counts from the moment its request was due, not from when it could leave."""
    kind, target, index, connections, rate, start, seconds = args
    send = _http_sender(*target) if kind == "http" else _rpc_sender(*target)
    interval = connections / rate  # between two requests of this connection
    due = start + index * interval / connections
    latencies: list[float] = []
    while due < start + seconds:
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        send()
        latencies.append(time.monotonic() - due)
        due += interval
    return latencies


def _warm(_: int) -> None:
    import nameko.standalone.rpc  # noqa: F401 - the import is the warm-up

    time.sleep(1)  # hold this process, so the pool's other processes take the other warm-ups


def _http_sender(port: int, path: str, token: str) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}

    def send() -> None:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"gateway answered {response.status}")

    return send


def _rpc_sender(uri: str, org_id: str, ctx: dict[str, Any]) -> Any:
    from nameko.standalone.rpc import ClusterRpcProxy

    proxy = ClusterRpcProxy({"AMQP_URI": uri}, timeout=30).start()
    return lambda: proxy.organization.get_org(ctx, org_id)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Side:
    """One side's figures summed over its rounds."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.latencies: list[float] = []
        self.cpu = 0.0
        self.wall = 0.0

    def run(self, worker: Any, args: tuple[Any, ...], clients: int, seconds: float) -> None:
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            started = time.perf_counter()
            results = pool.map(worker, [(*args, seconds)] * clients)
            self.wall += time.perf_counter() - started
        self.count += sum(r[0] for r in results)
        self.seconds += seconds
        self.latencies.extend(x for r in results for x in r[1])
        self.cpu += sum(r[2] for r in results)

    @classmethod
    def of(cls, latencies: list[float]) -> Side:
        side = cls()
        side.latencies = latencies
        return side

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def ms(self, quantile: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, int(len(ordered) * quantile) - 1)] * 1000

    def line(self, label: str, unit: str) -> str:
        return (
            f"  {label:<28} {self.rate:8,.0f} {unit:<10} p50 {statistics.median(self.latencies) * 1000:6.1f} ms"
            f"   p99 {self.ms(0.99):6.1f} ms   load generator used {self.cpu / (self.wall * CORES):4.0%} of the cores"
        )


def main() -> None:
    print(
        f"\n== gateway GET /api/v1/orgs/{{id}} vs bare nameko RPC ({' and '.join(map(str, CONCURRENCIES))} "
        f"concurrent clients, {SECONDS:g} s per side in {ROUNDS} alternating rounds, {CORES} cores)"
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
            figures = []
            for clients in CONCURRENCIES:
                rpc, http, lean = Side(), Side(), Side()
                for _ in range(ROUNDS):  # alternating, so the machine's other load falls on every side
                    rpc.run(_rpc_worker, (uri, org_id, ctx), clients, SECONDS / ROUNDS)
                    http.run(
                        _http_worker, (suite.gateway_port, f"/api/v1/orgs/{org_id}", token), clients, SECONDS / ROUNDS
                    )
                    lean.run(_lean_worker, (uri, org_id, ctx), clients, SECONDS / ROUNDS)
                figures.append((clients, rpc, http, lean))
            rate = OPEN_LOAD * figures[0][1].rate
            opened = {}
            targets = {"rpc": (uri, org_id, ctx), "http": (suite.gateway_port, f"/api/v1/orgs/{org_id}", token)}
            with multiprocessing.get_context("spawn").Pool(OPEN_CONNECTIONS) as pool:
                pool.map(_warm, range(OPEN_CONNECTIONS), chunksize=1)  # spawned and imported before any clock runs
                for kind, target in targets.items():
                    start = time.monotonic() + 3  # every connection process spawned and connected by then
                    jobs = [(kind, target, i, OPEN_CONNECTIONS, rate, start, SECONDS) for i in range(OPEN_CONNECTIONS)]
                    opened[kind] = Side.of([x for part in pool.map(_open_loop, jobs, chunksize=1) for x in part])
        finally:
            suite.stop()
    for clients, rpc, http, lean in figures:
        print(f"  -- {clients} concurrent clients")
        print(rpc.line("bare nameko RPC (baseline)", "calls/s"))
        print(http.line("gateway over HTTP", "requests/s"))
        print(lean.line("bare RPC, the gateway's client", "calls/s"))
        print(
            f"  ratio gateway / bare RPC     {http.rate / rpc.rate:8.2f}       p99 gateway {http.ms(0.99):.1f} ms"
            f" vs bare RPC {rpc.ms(0.99):.1f} ms"
        )
        print(f"  ratio gateway / its client   {http.rate / lean.rate:8.2f}       (what the HTTP layer keeps)")
    print(
        f"  -- {OPEN_CONNECTIONS} connections in an open loop at {rate:,.0f} requests/s"
        f" ({OPEN_LOAD:.0%} of the bare-RPC rate at {figures[0][0]} clients), timed from when each was due"
    )
    print(
        f"  p50 / p99 gateway {opened['http'].ms(0.5):.1f} / {opened['http'].ms(0.99):.1f} ms"
        f"   bare RPC (baseline) {opened['rpc'].ms(0.5):.1f} / {opened['rpc'].ms(0.99):.1f} ms"
    )
    print(
        "  (the gateway does more per request: JWT check, account state (cached), rate limit, schema dump, "
        "metrics, access log, and then the same RPC)"
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
