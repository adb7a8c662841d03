"""Where the gateway's CPU goes: the bench's suite under the same load as `bench/gateway.py` (one client process
per connection, `GET /api/v1/orgs/{id}`), the gateway's and the organization service's CPU time per request,
and, with `--profile FILE`, py-spy sampling the gunicorn workers (only threads holding the GIL) into FILE as
collapsed stacks, summed here by part of the request path.

    python -m bench.profile_gateway [--profile var/gateway.stacks] [--clients 8] [--seconds 15] [ENV=VALUE ...]

ENV=VALUE pairs go to the suite's processes (e.g. GATEWAY_THREADS=4 REDIS_URL=redis://127.0.0.1:6379/15).
py-spy slows what it samples: read the per-request CPU from a run without --profile.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench import gateway as bench
from kit.harness import Suite, private_vhost

# Parts of a request, each recognised by a frame and tried in this order: a stack counts for the first part it
# passes through, so the RPC that reads the account's state counts as account state, and the token check the
# rate limiter makes to find its key counts as the JWT decode.
PARTS = [
    ("JWT decode", r"Tokens\.verify"),
    ("account state (cached)", r"AccountStates\.get"),
    ("street modules gate", r"modules\.py"),
    ("consumer check (queue_state)", r"Rpc\.service_up"),
    ("RPC pool checkout/return", r"Rpc\._borrow|Rpc\._give_back"),
    ("RPC call (kit.rpc_client, py-amqp)", r"RpcClient\.call"),
    ("rate limit (flask-limiter)", r"Limiter\._check_request_limit"),
    ("access log (structlog)", r"JsonLogger\.access"),
    ("metrics (prometheus-client)", r"\(prometheus_client/|gateway/metrics\.py"),
    ("response schema dump (marshmallow)", r"\(marshmallow/"),
    ("JSON encoding", r"\(json/"),
    ("flask-smorest", r"\(flask_smorest/"),
    ("Flask/werkzeug", r"Flask\.__call__"),
    ("gunicorn (gthread: poller, thread pool, HTTP parsing and writing)", r"\(gunicorn/"),
]


def parts(stacks: Path) -> list[tuple[str, float]]:
    totals: collections.Counter[str] = collections.Counter()
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        part = next((name for name, rx in PARTS if any(re.search(rx, f) for f in frames)), "other")
        totals[part] += int(count)
    samples = sum(totals.values()) or 1
    return [(name, n / samples) for name, n in totals.most_common()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts-of", type=Path, help="only sum up stacks recorded before")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("env", nargs="*")
    args = parser.parse_args()
    if args.parts_of:
        for name, share in parts(args.parts_of):
            print(f"  {share:6.1%}  {name}")
        return
    env = dict(DEMO_RECORDS="none", RATE_LIMIT="10000000/minute", **dict(e.split("=", 1) for e in args.env))
    with private_vhost() as uri, tempfile.TemporaryDirectory() as tmp:
        suite = Suite(Path(tmp), uri, **env)
        try:
            suite.start()
            token = suite.token("district.admin")
            org_id = bench._org_id(suite, token)
            gunicorn = psutil.Process(suite.processes["gateway"].popen.pid)  # type: ignore[union-attr]
            gateway = [gunicorn, *gunicorn.children()]
            organization = [psutil.Process(suite.processes["organization"].popen.pid)]  # type: ignore[union-attr]
            spy = None
            if args.profile:
                command = [str(Path(sys.executable).parent / "py-spy"), "record", "--subprocesses", "--gil"]
                command += ["--rate", "100", "--duration", str(int(args.seconds)), "--format", "raw"]
                command += ["-o", str(args.profile), "--pid", str(gunicorn.pid)]
                spy = subprocess.Popen(
                    command,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(0.5)
            before = [_cpu(gateway), _cpu(organization)]
            side = bench.Side()
            side.run(
                bench._http_worker,
                (suite.gateway_port, f"/api/v1/orgs/{org_id}", token),
                args.clients,
                args.seconds - 1,
            )
            used = [_cpu(gateway) - before[0], _cpu(organization) - before[1]]
            if spy is not None:
                spy.wait()
        finally:
            suite.stop()
    print(side.line(f"gateway, {args.clients} clients", "requests/s"))
    print(
        f"  CPU per request: gateway {used[0] / side.count * 1000:.2f} ms, "
        f"organization service {used[1] / side.count * 1000:.2f} ms"
    )
    if args.profile:
        for name, share in parts(args.profile):
            print(f"  {share:6.1%}  {name}")


def _cpu(processes: list[psutil.Process]) -> float:
    return sum(t.user + t.system for t in (p.cpu_times() for p in processes))


if __name__ == "__main__":
    main()
