"""The gateway's road to the services: a per-process pool of long-lived lean RPC clients (`kit.rpc_client`).

Each call checks first that the service's `rpc-<service>` queue has consumers (a stopped service's durable
queue would keep the call and run it long after the client gave up), so nothing is published to a service
that is down. The caller's context is the explicit first argument of every call, never a pooled proxy's
context data. A client that timed out or lost its connection keeps an orphaned channel and maybe a late
reply: it is stopped and thrown away, never returned to the pool.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from amqp.exceptions import AMQPError
from flask import Flask, current_app
from kombu.exceptions import OperationalError
from nameko.exceptions import BadRequest, RemoteError, RpcTimeout, UnknownService

import kit.entrypoints  # noqa: F401 - registers ServiceError with nameko, so a service's errors arrive as themselves
from gateway.config import GatewayConfig
from gateway.metrics import RPC_CALLS, RPC_CLIENTS_DISCARDED
from kit.amqp import queue_state
from kit.context import CallerContext
from kit.errors import ServiceError
from kit.logs import get_logger
from kit.rpc_client import RpcClient

log = get_logger("gateway.rpc")

# Errors of the road, not of the service.
CONNECTION_ERRORS = (OSError, AMQPError, OperationalError)
# The service answered, but with something other than a ServiceError: a bug there, shown to nobody here.
ANSWERED_ERRORS = (RemoteError, BadRequest)


class Rpc:
    def __init__(self, config: GatewayConfig) -> None:
        self.amqp_uri = config.amqp_uri
        self.timeout = config.rpc_timeout
        self.check_ttl = config.service_check_ttl
        self._slots = threading.BoundedSemaphore(config.rpc_pool_size)
        self._idle: queue.SimpleQueue[RpcClient] = queue.SimpleQueue()
        self._up: dict[str, float] = {}  # service -> until when it is taken to have consumers

    def service_up(self, service: str) -> bool:
        """Whether `rpc-<service>` has consumers, asked without publishing. Only "up" is cached (for a few
        seconds): while a service is down every call asks again, so it is served as soon as it is back."""
        if time.monotonic() < self._up.get(service, 0.0):
            return True
        name = f"rpc-{service}"
        try:
            state = queue_state(self.amqp_uri, [name])[name]
        except CONNECTION_ERRORS:
            state = None  # the broker itself is unreachable
        up = state is not None and state[1] > 0
        if up:
            self._up[service] = time.monotonic() + self.check_ttl
        else:
            self._up.pop(service, None)
        return up

    def call(self, service: str, method: str, ctx: CallerContext, *args: Any) -> Any:
        if not self.service_up(service):
            raise _unavailable(service)
        client = self._borrow(service)
        try:
            result = client.call(service, method, ctx.to_wire(), *args)
        except (ServiceError, UnknownService, *ANSWERED_ERRORS) as exc:
            self._give_back(client)  # the round trip completed: the client is sound
            error: BaseException = _answered(service, method, exc)
        except BaseException as exc:
            self._discard(client, service, reason=type(exc).__name__)
            error = self._broken(service, method, exc)
        else:
            self._give_back(client)
            RPC_CALLS.labels(service, method, "ok").inc()
            return result
        RPC_CALLS.labels(service, method, error.kind if isinstance(error, ServiceError) else "error").inc()
        raise error

    def _broken(self, service: str, method: str, exc: BaseException) -> BaseException:
        if isinstance(exc, RpcTimeout):
            return ServiceError(
                "timeout", "RPC_TIMEOUT", f"the {service} service did not answer within {self.timeout:g} s"
            )
        if isinstance(exc, CONNECTION_ERRORS):
            log.warning("rpc connection failed", service=service, method=method, error=repr(exc))
            return _unavailable(service)
        return exc

    def _borrow(self, service: str) -> RpcClient:
        if not self._slots.acquire(timeout=self.timeout):
            raise ServiceError("unavailable", "RPC_POOL_EXHAUSTED", "the gateway is too busy, try again")
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        try:
            return RpcClient(self.amqp_uri, self.timeout)
        except BaseException as exc:
            self._slots.release()
            if isinstance(exc, CONNECTION_ERRORS):
                raise _unavailable(service) from None
            raise

    def _give_back(self, client: RpcClient) -> None:
        self._idle.put(client)
        self._slots.release()

    def _discard(self, client: RpcClient, service: str, *, reason: str) -> None:
        client.close()
        self._slots.release()
        self._up.pop(service, None)  # look again before the next call
        RPC_CLIENTS_DISCARDED.labels(reason).inc()


def _answered(service: str, method: str, exc: BaseException) -> ServiceError:
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, UnknownService):
        return _unavailable(service)
    log.error("service failed", service=service, method=method, error=repr(exc))
    return ServiceError("internal", "INTERNAL", "internal error")


def _unavailable(service: str) -> ServiceError:
    return ServiceError("unavailable", "SERVICE_UNAVAILABLE", f"the {service} service is not available")


def init_app(app: Flask, config: GatewayConfig) -> None:
    app.extensions["gateway.rpc"] = Rpc(config)


def current() -> Rpc:
    rpc: Rpc = current_app.extensions["gateway.rpc"]
    return rpc
