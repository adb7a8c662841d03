"""The kit's nameko entrypoints: `rpc` (caller context validated, errors typed) and `handle_event` (per-street
durable queues, inbox, retries with backoff, dead-letter queue; optionally another exchange than the source's,
no replay, and the broker-validated sender).

nameko's own `@event_handler` acks and drops a message whose handler raises (or requeues it forever); this
entrypoint owns failure instead: a failing handler's message is re-published to a delay queue and retried
with backoff, then parked in `<queue>.dlq`, counted, and listable and replayable with `python -m kit.dlq`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, cast

import amqp
import eventlet
import kombu.exceptions
from kombu.entity import Exchange, Queue, binding
from marshmallow import ValidationError
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import ContainerBeingKilled, MalformedRequest, get_module_path, registry
from nameko.messaging import Consumer, QueueConsumer
from nameko.rpc import Responder, get_rpc_exchange
from nameko.rpc import Rpc as NamekoRpc
from nameko.timer import Timer

from kit.amqp import (
    ROUTING_KEY_HEADER,
    SENDER_HEADER,
    ConfirmingPublisher,
    Outgoing,
    broker_user,
    open_connection,
)
from kit.config import Settings
from kit.context import CallerContext
from kit.errors import AlreadyHandled, ServiceError, as_service_error
from kit.events import InvalidEnvelope, exchange_for, validate_envelope
from kit.metrics import DEAD_LETTERS

log = logging.getLogger("kit.entrypoints")

# The gateway gets ServiceError back as itself (kind, code, detail, field errors), not as a RemoteError.
registry[get_module_path(ServiceError)] = ServiceError

ATTEMPT_HEADER = "x-guandu-attempt"

# What writing to a connection the broker dropped raises. nameko guards its acks with amqp's ConnectionError
# only, but a dead socket raises the built-in ConnectionResetError or BrokenPipeError (OSError), and an
# exception out of a worker's result handling kills the whole container: a broker restart with requests in
# flight took the service process down.
BROKER_GONE = (OSError, amqp.exceptions.ConnectionError, kombu.exceptions.OperationalError)


@contextlib.contextmanager
def unless_the_broker_is_gone(what: str) -> Iterator[None]:
    """Settling a message (reply, ack, requeue) on a connection that is gone: nothing to do. The broker put the
    unacked message back when the connection dropped and delivers it again; the inbox (events) or the
    idempotency record (commands) answers that second delivery without a second effect."""
    try:
        yield
    except BROKER_GONE as exc:
        log.warning("%s lost with the broker connection (%s); the broker delivers the message again", what, exc)


def settings_of(container: Any) -> Settings:
    settings = container.config.get("GUANDU")
    if not isinstance(settings, Settings):
        raise RuntimeError("container config lacks the kit settings (use kit.runner or kit.testing)")
    return settings


class _ReplyPublisher(Publisher):
    """Replies go without a publisher confirm and transient. nameko waits for a confirm on every reply: a broker
    round trip per call that buys nothing, since a reply lost with the broker is a call the caller times out on
    and sends again under the same idempotency key (the stored result answers it); and the reply queue is the
    caller's own, gone with it."""

    use_confirms = False
    delivery_mode = 1


class _Responder(Responder):
    publisher_cls = _ReplyPublisher


class Rpc(NamekoRpc):
    """An RPC entrypoint whose first argument is the caller's context, checked before any work is done."""

    def handle_message(self, body: Any, message: Any) -> None:
        try:
            args, kwargs = body["args"], body["kwargs"]
        except (KeyError, TypeError):
            raise MalformedRequest("Message missing `args` or `kwargs`") from None
        try:
            if not args:
                raise ServiceError("bad_request", "CONTEXT_MISSING", "the caller context is the first argument")
            context = CallerContext.from_wire(args[0])
        except ServiceError as exc:
            self.rpc_consumer.handle_result(message, None, (type(exc), exc, None))
            return
        super().handle_message({"args": [context, *args[1:]], "kwargs": kwargs}, message)

    def handle_result(self, message: Any, worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        if exc_info is not None:
            error = as_service_error(exc_info[1]) or _validation_error(exc_info[1])
            if error is None:  # a bug or an outage: logged by nameko with its traceback, never sent to the caller
                error = ServiceError("internal", "INTERNAL", "internal error")
            exc_info = (ServiceError, error, exc_info[2])
        with unless_the_broker_is_gone(f"the reply to {self.method_name}"):
            return self._reply(message, result, exc_info)
        return result, exc_info

    def _reply(self, message: Any, result: Any, exc_info: Any) -> Any:
        """nameko's RpcConsumer.handle_result, with the reply publisher above."""
        config = self.container.config
        responder = _Responder(
            config[AMQP_URI_CONFIG_KEY],
            get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.rpc_consumer.queue_consumer.ack_message(message)
        return result, exc_info


F = TypeVar("F", bound=Callable[..., Any])


def rpc(method: F) -> F:
    """Mark a service method as an RPC entrypoint (first argument: the caller context)."""
    return cast(F, Rpc.decorator(method))


def _queue_exists(conn: Any, name: str) -> bool:
    channel = conn.channel()
    try:
        channel.queue_declare(name, passive=True)
    except amqp.exceptions.NotFound:
        return False  # the broker closed that channel; the connection lives on
    channel.close()
    return True


def _validation_error(exc: BaseException) -> ServiceError | None:
    """Input that fails a contract schema inside a service is the caller's mistake, with field errors."""
    if isinstance(exc, ValidationError):
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return ServiceError("invalid", "VALIDATION_FAILED", "the input does not match the contract", messages)
    return None


class HandlerQueueConsumer(QueueConsumer):
    """nameko's queue consumer, except that a message kombu cannot decode is parked, not looped on."""

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(provider.on_undecodable, self)
        return consumers


@dataclass(frozen=True)
class Delivery:
    """How a message reached a handler, for the handlers that ask (`handle_event(..., delivery=True)`).

    `user_id` is the sender as RabbitMQ validated it: the broker refuses a `user_id` property other than the
    publishing connection's own user, so it names who published (None when the property was not set). A
    message the kit re-published for a retry (or ops replayed from the DLQ) keeps its first sender: the kit
    stamps its own user as `user_id` and the sender in a header, and that header is believed only under
    the kit's own user, which nobody else can stamp. `routing_key` is the key it was first published with."""

    user_id: str | None
    message_id: str | None
    routing_key: str
    exchange: str
    redelivered: bool


def delivery_of(message: Any, own_user: str) -> Delivery:
    properties = message.properties or {}
    headers = message.headers or {}
    info = message.delivery_info or {}
    user_id = properties.get("user_id") or None
    if user_id == own_user and SENDER_HEADER in headers:
        user_id = str(headers[SENDER_HEADER]) or None
    # Only the suite may publish to the default exchange, where retries and replays come from.
    routing_key = str(info.get("routing_key", ""))
    if info.get("exchange", "") == "" and headers.get(ROUTING_KEY_HEADER):
        routing_key = str(headers[ROUTING_KEY_HEADER])
    return Delivery(
        user_id=user_id,
        message_id=properties.get("message_id") or None,
        routing_key=routing_key,
        exchange=str(info.get("exchange", "")),
        redelivered=bool(info.get("redelivered", False)),
    )


class EventHandler(Consumer):
    queue_consumer = HandlerQueueConsumer()

    def __init__(
        self,
        source: str,
        event_type: str,
        *,
        exchange: str | None = None,
        replay: bool = True,
        delivery: bool = False,
        require_user_id: bool = False,
        streets: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        if require_user_id and not delivery:
            raise ValueError("require_user_id=True needs delivery=True: the handler is given the sender")
        self.source = source
        self.event_type = event_type
        self.exchange_name = exchange or exchange_for(source)
        self.replay = replay
        self.wants_delivery = delivery
        self.require_user_id = require_user_id
        self.only_streets = streets
        self._publisher: ConfirmingPublisher | None = None
        self._publish_lock = threading.Lock()
        super().__init__(queue=None, **kwargs)

    # -- topology ---------------------------------------------------------------------------------------
    @property
    def consumer_name(self) -> str:
        """The inbox key: stable whatever street set the deployment serves."""
        return f"{self.container.service_name}.{self.method_name}"

    def setup(self) -> None:
        self.settings = settings_of(self.container)
        streets = self.settings.streets
        self.queue_name = f"{self.container.service_name}.{self.method_name}.{streets.label}"
        served = streets.streets if self.only_streets is None else self.only_streets
        self.binding_keys = [f"{self.event_type}.{street}" for street in served]
        exchange = Exchange(self.exchange_name, type="topic", durable=True)
        self.queue = Queue(
            self.queue_name,
            bindings=[binding(exchange, routing_key=key) for key in self.binding_keys],
            durable=True,
            queue_arguments=self._queue_args(),
        )
        self._declare(exchange)
        self._publisher = ConfirmingPublisher(self.settings.amqp_uri)
        self.own_user = broker_user(self.settings.amqp_uri)
        super().setup()

    def _queue_args(self, **extra: Any) -> dict[str, Any]:
        return {"x-queue-type": self.settings.queue_type, **extra}

    def retry_queue(self, attempt: int) -> str:
        backoff = self.settings.handler_backoff_ms
        return f"{self.queue_name}.retry.{backoff[min(attempt, len(backoff)) - 1]}ms"

    @property
    def dlq_name(self) -> str:
        return f"{self.queue_name}.dlq"

    @property
    def replay_marker(self) -> str:
        """An empty durable queue that exists while the first start's replay is still owed: the debt outlives a
        crash or a source that is down, and the next start pays it."""
        return f"{self.queue_name}.replay-pending"

    def _declare(self, exchange: Exchange) -> None:
        conn = open_connection(self.settings.amqp_uri)
        try:
            self.first_start = not _queue_exists(conn, self.queue_name)
            replay = self.replay and self.settings.extra.get("REPLAY_ON_FIRST_START", "true") == "true"
            self.replay_owed = replay and (self.first_start or _queue_exists(conn, self.replay_marker))
            channel = conn.channel()
            if self.replay_owed:  # before the queue itself, so that a crash in between still owes the replay
                channel.queue_declare(self.replay_marker, durable=True, auto_delete=False)
            channel.exchange_declare(exchange.name, "topic", durable=True, auto_delete=False)
            channel.queue_declare(self.queue_name, durable=True, auto_delete=False, arguments=self._queue_args())
            for key in self.binding_keys:
                channel.queue_bind(self.queue_name, exchange.name, key)
            # A street handed to a dedicated deployment must stop reaching this queue.
            served = set(self.binding_keys)
            for street in self.settings.streets.known:
                key = f"{self.event_type}.{street}"
                if key not in served:
                    channel.queue_unbind(self.queue_name, exchange.name, key)
            channel.queue_declare(self.dlq_name, durable=True, auto_delete=False, arguments=self._queue_args())
            for delay in sorted(set(self.settings.handler_backoff_ms)):
                channel.queue_declare(
                    f"{self.queue_name}.retry.{delay}ms",
                    durable=True,
                    auto_delete=False,
                    arguments=self._queue_args(
                        **{
                            "x-message-ttl": delay,
                            "x-dead-letter-exchange": "",
                            "x-dead-letter-routing-key": self.queue_name,
                        }
                    ),
                )
        finally:
            conn.close()

    def start(self) -> None:
        super().start()
        if self.replay_owed:
            self.container.spawn_managed_thread(self._ask_for_replay)

    def _ask_for_replay(self) -> None:
        """A new queue missed everything published before it existed: ask the source for its kept events,
        until it answers (the inbox applies twice-sent events once), then clear the debt."""
        from nameko.standalone.rpc import ClusterRpcProxy

        delay = 1.0
        while True:
            try:
                with ClusterRpcProxy({"AMQP_URI": self.settings.amqp_uri}, timeout=120) as proxy:
                    sent = getattr(proxy, self.source).replay_events(
                        CallerContext.system().to_wire(), self.queue_name, "1970-01-01T00:00:00Z", self.binding_keys
                    )
                break
            except Exception as exc:
                log.warning("replay for %s from %s failed (%s), retrying", self.queue_name, self.source, exc)
                eventlet.sleep(delay)
                delay = min(delay * 2, 30.0)
        log.info("first start of %s: %s replayed %d past events", self.queue_name, self.source, sent)
        try:
            conn = open_connection(self.settings.amqp_uri)
            try:
                conn.channel().queue_delete(self.replay_marker)
            finally:
                conn.close()
        except Exception as exc:  # the debt stays: the next start replays again, and the inbox applies once
            log.warning("could not clear %s (%s)", self.replay_marker, exc)

    def stop(self) -> None:
        super().stop()
        if self._publisher is not None:
            self._publisher.close()

    # -- messages ---------------------------------------------------------------------------------------
    def handle_message(self, body: Any, message: Any) -> None:
        try:
            event = validate_envelope(body)
        except InvalidEnvelope as exc:
            self._settle_failure(message, f"invalid envelope: {exc}", final=True)
            return
        kwargs: dict[str, Any] = {}
        if self.wants_delivery:
            delivery = delivery_of(message, self.own_user)
            if self.require_user_id and delivery.user_id is None:
                # Nobody to answer and nobody to blame: parked for ops, counted, never applied.
                self._settle_failure(message, "no broker-validated user_id: the sender is unknown", final=True)
                return
            kwargs["delivery"] = delivery
        # nameko's Consumer.handle_message, with keyword arguments
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(
                self,
                (event,),
                kwargs,
                context_data=self.unpack_message_headers(message),
                handle_result=handle_result,
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def on_undecodable(self, queue_consumer: Any, message: Any, exc: Exception) -> None:
        self._settle_failure(message, f"undecodable message: {exc}", final=True)

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None) -> None:
        with unless_the_broker_is_gone(f"settling an event of {self.queue_name}"):
            self._settle(message, exc_info)

    def _settle(self, message: Any, exc_info: Any) -> None:
        if exc_info is None or isinstance(exc_info[1], AlreadyHandled):
            self.queue_consumer.ack_message(message)
            return
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        error = as_service_error(exc_info[1])
        reason = f"{exc_info[0].__name__}: {error or exc_info[1]}"
        self._settle_failure(message, reason, final=attempt >= self.settings.handler_max_attempts)

    def _settle_failure(self, message: Any, reason: str, *, final: bool) -> None:
        """Re-publish to a delay queue (or, finally, to the DLQ), then ack; if that fails, requeue."""
        headers = dict(message.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 1))
        # What it came with, as far as it can be believed (not a header a department's system set itself);
        # the sender travels on under the kit's own (broker-validated) user_id.
        first = delivery_of(message, self.own_user)
        headers.update(
            {
                ATTEMPT_HEADER: attempt + 1,
                "x-guandu-error": reason[:1000],
                "x-guandu-queue": self.queue_name,
                ROUTING_KEY_HEADER: first.routing_key,
                SENDER_HEADER: first.user_id or "",
            }
        )
        target = self.dlq_name if final else self.retry_queue(attempt)
        properties = message.properties or {}
        outgoing = Outgoing(
            exchange="",
            routing_key=target,
            body=message.body if isinstance(message.body, bytes) else str(message.body).encode(),
            message_id=properties.get("message_id") or "",
            type=properties.get("type") or "",
            content_type=message.content_type or "application/octet-stream",
            headers=headers,
            user_id=self.own_user,
        )
        try:
            with self._publish_lock:
                assert self._publisher is not None
                self._publisher.publish_batch([outgoing])
        except Exception:
            log.exception("could not park a failed message of %s; requeueing it", self.queue_name)
            self.queue_consumer.requeue_message(message)
            return
        if final:
            DEAD_LETTERS.labels(self.container.service_name, self.queue_name).inc()
            log.error("message parked in %s after %d attempts: %s", self.dlq_name, attempt, reason)
        else:
            log.warning("handler %s failed (attempt %d), retrying: %s", self.queue_name, attempt, reason)
        self.queue_consumer.ack_message(message)


DUPLICATE = "guandu:duplicate"  # what a handler "returns" for an event its inbox already holds


def handle_event(
    source: str,
    event_type: str,
    *,
    exchange: str | None = None,
    replay: bool = True,
    delivery: bool = False,
    require_user_id: bool = False,
    streets: tuple[str, ...] | None = None,
) -> Callable[[F], F]:
    """Mark a service method as the handler of `<source>`'s `<event_type>` events.

    The queue is bound with `<event_type>.<street>` for each street the deployment serves (`event_type` may
    be a topic pattern such as `department.*`). `exchange` is `<source>.events` unless named (department
    commands come on `departments.commands`); `replay=False` never asks the source to replay on a first start
    (a source that is no suite service has no `replay_events`). `delivery=True` gives the method a keyword
    argument `delivery` (a `Delivery`: the broker-validated `user_id`, message id, routing key);
    `require_user_id=True` parks a message without a `user_id` in the DLQ, unhandled. `streets` binds those
    streets' keys only, whatever the deployment serves: a handler of what lies outside every street (the city's
    departments are district nodes, `org.created.district`) need not take, or have replayed, every street's.

    A redelivered event (its id already in the inbox) is a normal part of at-least-once delivery, not an
    error: the wrapper turns the inbox's AlreadyHandled into the DUPLICATE result, so nameko does not log it
    as a failed worker and the metrics count it as `duplicate`.
    """

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def handler(self: Any, event: dict[str, Any], **kwargs: Any) -> Any:
            try:
                return method(self, event, **kwargs)
            except AlreadyHandled:
                return DUPLICATE

        entrypoint = EventHandler.decorator(
            source,
            event_type,
            exchange=exchange,
            replay=replay,
            delivery=delivery,
            require_user_id=require_user_id,
            streets=streets,
        )
        return cast(F, entrypoint(handler))

    return decorate


class ConfiguredTimer(Timer):
    """nameko's timer with its interval read from the service's settings (environment) at setup."""

    def __init__(self, setting: str, default: float, **kwargs: Any) -> None:
        self.setting = setting
        self.default = default
        super().__init__(interval=default, **kwargs)

    def setup(self) -> None:
        self.interval = float(settings_of(self.container).extra.get(self.setting, self.default))
        super().setup()
