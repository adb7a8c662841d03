"""The ops HTTP server of a service process: `/metrics`, `/healthz` and `/readyz` on `METRICS_PORT`.

It runs as a nameko shared extension on eventlet's WSGI server, so it lives and dies with the container.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from nameko.extensions import SharedExtension
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kit.amqp import open_connection
from kit.clock import Clock
from kit.db import Database
from kit.entrypoints import settings_of
from kit.logs import get_logger
from kit.metrics import OUTBOX
from kit.relay import backlog

log = get_logger("kit.ops")
Check = Callable[[], bool]
READY_CACHE_SECONDS = 2.0


class OpsServer(SharedExtension):
    def __init__(self) -> None:
        super().__init__()
        self.checks: dict[str, Check] = {}
        self._ready_cache: tuple[float, dict[str, bool]] = (0.0, {})
        self._server: Any = None
        # kit.runner's to set: True once the whole container has started, False again as soon as it stops.
        # Until then /readyz answers 503 even when the broker and database are fine.
        self.serving = False

    def setup(self) -> None:
        settings = settings_of(self.container)
        self.port = settings.metrics_port
        self.host = settings.extra.get("METRICS_HOST", "127.0.0.1")
        self.checks["broker"] = lambda: _broker_reachable(settings.amqp_uri)

    def add_database(self, db: Database, clock: Clock) -> None:
        if "database" in self.checks:
            return
        self.checks["database"] = db.ping
        OUTBOX.sources[self.container.service_name] = lambda: backlog(db, clock)

    def start(self) -> None:
        import eventlet
        import eventlet.wsgi

        sock = eventlet.listen((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._server = self.container.spawn_managed_thread(
            lambda: eventlet.wsgi.server(sock, self.app, log_output=False, debug=False)
        )
        log.info("ops server listening", host=self.host, port=self.port, pid=os.getpid())

    def stop(self) -> None:
        if self._server is not None:
            self._server.kill()
            self._server = None
        OUTBOX.sources.pop(self.container.service_name, None)

    def kill(self) -> None:
        self.stop()

    def readiness(self) -> dict[str, bool]:
        stamp, cached = self._ready_cache
        if time.monotonic() - stamp < READY_CACHE_SECONDS:
            return cached | {"serving": self.serving}
        states = {name: _safe(check) for name, check in self.checks.items()}
        self._ready_cache = (time.monotonic(), states)
        return states | {"serving": self.serving}

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest()]
        if path == "/healthz":
            return _json(start_response, 200, {"status": "ok", "service": self.container.service_name})
        if path == "/readyz":
            states = self.readiness()
            ready = all(states.values())
            body = {"status": "ready" if ready else "not ready", "checks": states}
            return _json(start_response, 200 if ready else 503, body)
        return _json(start_response, 404, {"status": "not found"})


def _json(start_response: Callable[..., Any], status: int, body: dict[str, Any]) -> list[bytes]:
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def _safe(check: Check) -> bool:
    try:
        return bool(check())
    except Exception:
        return False


def _broker_reachable(uri: str) -> bool:
    conn = open_connection(uri)
    conn.close()
    return True
