"""Prometheus metrics shared by every service: RED per RPC method and event handler, dead letters, the
outbox backlog; the gateway adds its own per-route metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RPC_REQUESTS = Counter(
    "guandu_rpc_requests_total",
    "RPC calls handled, by outcome (ok, an error kind, or error)",
    ["service", "method", "outcome"],
)
RPC_DURATION = Histogram(
    "guandu_rpc_duration_seconds", "Time to handle an RPC call", ["service", "method"], buckets=LATENCY_BUCKETS
)
EVENTS_HANDLED = Counter(
    "guandu_events_handled_total",
    "Events handled, by outcome (ok, duplicate, retry, dead_letter, ...)",
    ["service", "handler", "outcome"],
)
EVENT_DURATION = Histogram(
    "guandu_event_handler_duration_seconds",
    "Time to handle an event",
    ["service", "handler"],
    buckets=LATENCY_BUCKETS,
)
DEAD_LETTERS = Counter("guandu_dead_letters_total", "Messages parked in a dead-letter queue", ["service", "queue"])
RELAY_PUBLISHED = Counter("guandu_outbox_published_total", "Outbox rows published and confirmed", ["service"])


class OutboxCollector(Collector):
    """Reads each service's outbox backlog at scrape time, so the figure is never stale."""

    def __init__(self) -> None:
        self.sources: dict[str, Callable[[], tuple[int, float]]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = GaugeMetricFamily("guandu_outbox_backlog", "Outbox rows not yet published", labels=["service"])
        oldest = GaugeMetricFamily(
            "guandu_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", labels=["service"]
        )
        for service, read in list(self.sources.items()):
            try:
                count, age = read()
            except Exception:  # noqa: S112 - a database that is down shows as a missing series, and in /readyz
                continue
            backlog.add_metric([service], count)
            oldest.add_metric([service], age)
        yield backlog
        yield oldest


OUTBOX = OutboxCollector()
REGISTRY.register(OUTBOX)
