"""gunicorn settings for the gateway: `gunicorn -c gateway/gunicorn.conf.py 'gateway.app:create_app()'`.

gthread workers (gunicorn 27 has no eventlet worker), each process with its own pool of RPC clients; the
kit's JSON logs for gunicorn's error and access logs; Prometheus in multiprocess mode. Reads GATEWAY_HOST,
GATEWAY_PORT, GATEWAY_WORKERS (2), GATEWAY_THREADS (8), METRICS_PORT (9100: /metrics), LOG_LEVEL and
PROMETHEUS_MULTIPROC_DIR (default var/prometheus-gateway; one directory per gunicorn instance, emptied when it
starts).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from gunicorn import glogging, util

from gateway.config import GatewayConfig
from gateway.errors import HTTP_CODES, PROBLEM_JSON, problem_type
from kit.config import var_dir
from kit.context import new_correlation_id
from kit.logs import configure_logging, get_logger

# Read here as well, so a bad setting stops the master at once and the development JWT key exists before
# the workers start.
_gateway = GatewayConfig.from_env()

bind = f"{_gateway.host}:{_gateway.port}"
worker_class = "gthread"
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
threads = int(os.environ.get("GATEWAY_THREADS", "8"))
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
accesslog = "-"
# gunicorn 27's control socket defaults to one path per user: several gateways on one machine would share it.
control_socket_disable = True
# nameko imports eventlet, which announces its deprecation in every worker; the gateway never runs on it.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

# prometheus-client picks its multiprocess mode when it is first imported: before any worker loads the app.
_metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(var_dir() / "prometheus-gateway")))
_metrics_dir.mkdir(parents=True, exist_ok=True)


def _write_problem(sock: Any, status: int, reason: str, mesg: str) -> None:
    """gunicorn answers what it cannot parse itself (a request line over 4,094 bytes: 414; headers too large:
    431), in text/html and with no hook to change it: replaced so that this answer too is a problem. Its message
    is not sent, since it quotes the request."""
    code = HTTP_CODES.get(status, f"HTTP_{status}")
    body = {"type": problem_type(code), "title": reason, "status": status, "detail": reason, "code": code}
    data = json.dumps({**body, "correlation_id": new_correlation_id()}).encode()
    head = f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
    util.write_nonblock(sock, f"{head}Content-Length: {len(data)}\r\n\r\n".encode("latin1") + data)


util.write_error = _write_problem


def on_starting(server: Any) -> None:
    """A previous run's counters are not this run's."""
    for stale in _metrics_dir.glob("*.db"):
        stale.unlink()
    if workers > 1 and not _gateway.redis_url:
        get_logger("gateway").warning(
            "rate limits are counted per worker: without REDIS_URL each of the workers counts alone, so every "
            "limit (the login limit too) is multiplied by their number",
            workers=workers,
        )


def when_ready(server: Any) -> None:
    """/metrics of every worker, on the ops port of the master (METRICS_PORT, default 9100), off the API's."""
    from gateway.metrics import serve_ops

    serve_ops(os.environ.get("METRICS_HOST", _gateway.host), int(os.environ.get("METRICS_PORT", "9100")))


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class JsonLogger(glogging.Logger):
    """gunicorn's error and access logs as the kit's JSON lines (masked, with the correlation id)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        configure_logging("gateway", level=cfg.loglevel.upper())
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        # Here, not at the top: gateway.auth brings in the RPC client (and eventlet), which the master need not
        # load; a worker, which logs requests, has loaded it with the app already.
        from gateway.auth import loggable_query

        get_logger("gunicorn.access").info(
            "http request",
            method=environ.get("REQUEST_METHOD"),
            path=environ.get("PATH_INFO"),
            query=loggable_query(environ.get("QUERY_STRING")),  # no api_key token in a log
            status=resp.status_code,
            duration_ms=round(request_time.total_seconds() * 1000, 1),
            remote_addr=environ.get("REMOTE_ADDR"),
            correlation_id=next((v for k, v in resp.headers if k.lower() == "x-correlation-id"), None),
        )


logger_class = JsonLogger
