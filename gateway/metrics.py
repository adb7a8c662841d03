"""The gateway's Prometheus metrics: RED per HTTP route (labelled with the URL rule, such as
`/api/v1/orgs/<uuid:org_id>`, never the raw path) and per RPC method. Under gunicorn they are kept in
multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, set up by gunicorn.conf.py) and summed over the workers."""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from kit.metrics import LATENCY_BUCKETS

HTTP_REQUESTS = Counter(
    "guandu_http_requests_total", "HTTP requests answered, by route, method and status", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "guandu_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
RPC_CALLS = Counter(
    "guandu_gateway_rpc_calls_total",
    "RPC calls made by the gateway, by outcome (ok or an error kind)",
    ["service", "method", "outcome"],
)
RPC_CLIENTS_DISCARDED = Counter(
    "guandu_gateway_rpc_clients_discarded_total",
    "Pooled RPC clients thrown away after a timeout or a connection error",
    ["reason"],
)


def _start() -> None:
    g.started = time.perf_counter()


def _observe(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
    HTTP_DURATION.labels(route, request.method).observe(time.perf_counter() - g.get("started", time.perf_counter()))
    return response


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_observe)


def registry() -> CollectorRegistry:
    """What to expose: every gunicorn worker's counters (multiprocess mode), or this process's own."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        collected = CollectorRegistry()
        MultiProcessCollector(collected)
        return collected
    return REGISTRY


def exposition() -> bytes:
    return bytes(generate_latest(registry()))


def serve_ops(host: str, port: int) -> None:
    """/metrics on the ops port (METRICS_PORT), not the API's: ops read it, the API's callers never do."""
    start_http_server(port, addr=host, registry=registry())
