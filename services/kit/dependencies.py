"""nameko DependencyProviders every service declares: `Storage` (units of work, idempotent commands, the
in-process outbox relay) and `Observability` (RED metrics, correlation id in logs, the ops HTTP server).

Each follows nameko's extension lifecycle: arguments in `__init__`, resources in `setup()`, a thin per-worker
object from `get_dependency`, clean-up in `worker_result`; never the commit, which the handler does itself
because the reply has gone by the time `worker_result` runs.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from nameko.extensions import DependencyProvider, SharedExtension

from kit.clock import Clock, SystemClock, clock_from_env, parse_iso
from kit.context import CallerContext
from kit.db import Database
from kit.departments import declare_department_queues, department_of_queue
from kit.entrypoints import DUPLICATE, EventHandler, rpc, settings_of
from kit.errors import AlreadyHandled, ServiceError, as_service_error
from kit.events import DEPARTMENTS_EXCHANGE, exchange_for
from kit.logs import get_logger
from kit.metrics import EVENT_DURATION, EVENTS_HANDLED, RELAY_PUBLISHED, RPC_DURATION, RPC_REQUESTS
from kit.ops import OpsServer
from kit.relay import Relay, replay
from kit.uow import UnitOfWork, run_command

R = TypeVar("R")
log = get_logger("kit.dependencies")


class RelayRunner(SharedExtension):
    """Runs the outbox relay in a managed green thread of the service; commits wake it at once."""

    def __init__(self) -> None:
        super().__init__()
        self.wake = threading.Event()
        self._stop = threading.Event()
        self.db: Database | None = None

    def attach(self, db: Database) -> None:
        self.db = db

    def start(self) -> None:
        if self.db is None:
            return
        settings = settings_of(self.container)
        relay = InstrumentedRelay(
            self.db,
            settings.amqp_uri,
            batch_size=settings.relay_batch_size,
            retention_days=settings.outbox_retention_days,
        )
        relay.service = self.container.service_name
        self._thread = self.container.spawn_managed_thread(
            lambda: relay.run(self._stop, self.wake, idle_seconds=settings.relay_idle_seconds),
        )

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()

    def kill(self) -> None:
        self.stop()


class InstrumentedRelay(Relay):
    service = ""

    def relay_once(self) -> int:
        count = super().relay_once()
        if count:
            RELAY_PUBLISHED.labels(self.service).inc(count)
        return count


class Storage(DependencyProvider):
    """Hands each worker a `Work`: units of work bound to this service's database, clock and relay."""

    relay = RelayRunner()
    ops = OpsServer()

    def __init__(self, clock: Clock | None = None) -> None:
        self._given_clock = clock
        self.clock: Clock = clock or SystemClock()

    def setup(self) -> None:
        self.settings = settings = settings_of(self.container)
        if self._given_clock is None:  # a whole-process test may set the time through a file (kit.clock)
            self.clock = clock_from_env(settings.extra)
        self.db = Database(settings.database_url)
        self.relay.attach(self.db)
        self.ops.add_database(self.db, self.clock)

    def stop(self) -> None:
        self.db.dispose()

    def get_dependency(self, worker_ctx: Any) -> Work:
        inbox: tuple[str, str] | None = None
        if isinstance(worker_ctx.entrypoint, EventHandler):
            consumer = worker_ctx.entrypoint.consumer_name
            delivery = worker_ctx.kwargs.get("delivery")
            if worker_ctx.entrypoint.require_user_id and delivery is not None:
                # A CloudEvent is its source and its id, and outsiders choose their ids: each sender (the
                # broker-validated user) has its own, so nobody's id can make another's message a "repeat".
                consumer = f"{consumer}@{delivery.user_id}"[:200]
            inbox = (consumer, worker_ctx.args[0]["id"])
        return Work(self, worker_ctx.service_name, inbox)


class Work:
    """What a worker sees: `unit(ctx)` for a transaction, `command(...)` for an idempotent change."""

    def __init__(self, provider: Storage, service: str, inbox: tuple[str, str] | None) -> None:
        self._provider = provider
        self.service = service
        self.clock = provider.clock
        self.db = provider.db
        self.settings = provider.settings
        self._inbox = inbox

    def unit(self, context: CallerContext, *, write: bool = True) -> UnitOfWork:
        consumer, event_id = self._inbox if (self._inbox and write) else (None, None)
        return UnitOfWork(
            self.db,
            service=self.service,
            clock=self.clock,
            context=context,
            write=write,
            inbox_consumer=consumer,
            event_id=event_id,
            on_commit=self._provider.relay.wake.set,
        )

    def read(self, context: CallerContext) -> UnitOfWork:
        return self.unit(context, write=False)

    def command(
        self,
        context: CallerContext,
        key: str,
        name: str,
        request: Any,
        execute: Callable[[UnitOfWork], R],
    ) -> R:
        return run_command(lambda: self.unit(context), key=key, command=name, request=request, execute=execute)


REPLAY_QUEUE_RE = re.compile(r"^[a-z_]+\.on_[a-z0-9_]+\.[a-z0-9+_-]+$")


class EventSource:
    """Mixed into every service that publishes: other services' handler queues ask it, on their first start
    (or ops ask it, after a rebuild), to replay its kept events from a time straight into one queue. A city
    department's queue (`department.<code>`, keys `<code>.#` or narrower) is refilled the same way, with
    the copies that went to the `departments` exchange for that department and no other."""

    if TYPE_CHECKING:
        storage: Work

    @rpc
    def replay_events(self, ctx: CallerContext, queue: str, since: str, routing_keys: list[str]) -> int:
        if ctx.role != "system":
            raise ServiceError("forbidden", "SYSTEM_ONLY", "only the suite itself may ask for a replay")
        department = department_of_queue(queue)
        if department is not None:
            exchange = DEPARTMENTS_EXCHANGE
            # a department's queue gets its own copies only, whatever keys the caller names
            valid = all(key.startswith(f"{department}.") for key in routing_keys)
        else:
            exchange = exchange_for(self.storage.service)
            valid = bool(REPLAY_QUEUE_RE.match(queue))
        if not valid or not routing_keys:
            raise ServiceError(
                "invalid",
                "REPLAY_INVALID",
                "a handler queue and its routing keys, or department.<code> and keys under <code>., are needed",
            )
        return replay(
            self.storage.db,
            self.storage.settings.amqp_uri,
            queue=queue,
            since=parse_iso(since),
            routing_keys=routing_keys,
            exchange=exchange,
        )


class DepartmentQueues(DependencyProvider):
    """Hands each worker `declare(codes) -> queue names`: the departments' durable queues, with this
    deployment's broker and queue type. A service that summons departments declares a department's queue
    when it learns of the department (its projection of `org.created`) and for all it knows at start."""

    def setup(self) -> None:
        self.settings = settings_of(self.container)

    def get_dependency(self, worker_ctx: Any) -> Callable[[list[str]], list[str]]:
        settings = self.settings
        return lambda codes: declare_department_queues(settings.amqp_uri, codes, queue_type=settings.queue_type)


class Observability(DependencyProvider):
    """RED metrics per RPC method and event handler (with an outcome label) and the correlation id bound to
    every log line a worker writes."""

    ops = OpsServer()

    def setup(self) -> None:
        self.service = self.container.service_name
        self._started: dict[Any, float] = {}

    def get_dependency(self, worker_ctx: Any) -> None:
        return None

    def worker_setup(self, worker_ctx: Any) -> None:
        self._started[worker_ctx] = time.perf_counter()
        args = worker_ctx.args
        correlation_id = None
        if args and isinstance(args[0], CallerContext):
            correlation_id = args[0].correlation_id
        elif args and isinstance(args[0], dict):
            correlation_id = args[0].get("correlationid")
        structlog.contextvars.bind_contextvars(
            correlation_id=correlation_id, entrypoint=f"{self.service}.{worker_ctx.entrypoint.method_name}"
        )

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        elapsed = time.perf_counter() - self._started.pop(worker_ctx, time.perf_counter())
        method = worker_ctx.entrypoint.method_name
        outcome = "duplicate" if result == DUPLICATE else _outcome(exc_info)
        if isinstance(worker_ctx.entrypoint, EventHandler):
            EVENTS_HANDLED.labels(self.service, method, outcome).inc()
            EVENT_DURATION.labels(self.service, method).observe(elapsed)
            log.info("event handled", outcome=outcome, duration_ms=round(elapsed * 1000, 1))
        else:
            RPC_REQUESTS.labels(self.service, method, outcome).inc()
            RPC_DURATION.labels(self.service, method).observe(elapsed)
            log.info("rpc handled", outcome=outcome, duration_ms=round(elapsed * 1000, 1))

    def worker_teardown(self, worker_ctx: Any) -> None:
        self._started.pop(worker_ctx, None)
        structlog.contextvars.clear_contextvars()


def _outcome(exc_info: Any) -> str:
    if exc_info is None:
        return "ok"
    if isinstance(exc_info[1], AlreadyHandled):
        return "duplicate"
    error = as_service_error(exc_info[1])
    return error.kind if error is not None else "error"
