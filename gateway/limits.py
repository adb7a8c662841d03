"""Rate limits (flask-limiter): a default per account (per client IP before logging in) and a stricter one on
POST /auth/token per client IP and per username. Counters live in Redis when REDIS_URL is set, so every
worker and instance shares them; in memory otherwise.

flask-limiter reads most settings only on its first `init_app`, so the limits are callables that read the
current app's config: each app (one per process, or one per test) gets its own numbers and storage.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from limits.storage import MemoryStorage

from gateway.auth import bearer_account_id
from gateway.config import GatewayConfig
from kit.errors import ServiceError

SWEEP_INTERVAL = 1.0  # seconds between two sweeps of expired counters out of the in-memory storage


class MemoryCounters(MemoryStorage):
    """limits' memory storage, except that a hit does not start a thread. limits 5.8 starts a 10 ms
    `threading.Timer` on every hit that finds the previous one finished (nearly every request: a quarter of
    the gateway's CPU in `bench.profile_gateway`). An expired counter is already dropped when it is next read;
    the sweep only frees counters nobody reads again, so here it runs inline at most once a second."""

    STORAGE_SCHEME = ["gateway-memory"]  # noqa: RUF012 - the name limits looks a storage up by (its base types it so)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL
        self._sweeping = threading.Lock()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self.get(key)  # drops the counter of a window that has ended
        self._sweep_now_and_then()
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
        return self.storage.get(key, 0)

    def _sweep_now_and_then(self) -> None:
        if time.monotonic() < self._next_sweep or not self._sweeping.acquire(blocking=False):
            return
        try:
            self._next_sweep = time.monotonic() + SWEEP_INTERVAL
            now = time.time()
            for key in [k for k, at in list(self.expirations.items()) if at <= now]:
                self.get(key)
        finally:
            self._sweeping.release()


def client_ip() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


def caller_key() -> str:
    try:
        return f"account:{bearer_account_id()}"
    except ServiceError:  # no valid token: the route answers 401 itself, counted against the client's IP
        return client_ip()


def username_key() -> str:
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    return f"username:{username.strip().lower()[:64]}" if isinstance(username, str) else client_ip()


def _config() -> GatewayConfig:
    config: GatewayConfig = current_app.config["GATEWAY"]
    return config


limiter = Limiter(
    key_func=caller_key,
    default_limits=[lambda: _config().rate_limit],
)
per_client_ip = limiter.limit(lambda: _config().login_rate_limit, key_func=client_ip)
per_username = limiter.limit(lambda: _config().login_rate_limit, key_func=username_key)


def _retry_after(response: Response) -> Response:
    """Retry-After on a 429 only (flask-limiter's own headers would put one on every answer)."""
    limit = limiter.current_limit
    if response.status_code == 429 and limit is not None:
        response.headers["Retry-After"] = str(max(1, limit.reset_at - int(time.time())))
    return response


def init_app(app: Flask, config: GatewayConfig) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = config.redis_url or "gateway-memory://"
    app.config["RATELIMIT_KEY_PREFIX"] = config.rate_limit_prefix
    limiter.init_app(app)
    app.after_request(_retry_after)
