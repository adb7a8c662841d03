"""Business gauges of the whistle service, read from its database at scrape time (never stale): open whistles
by state and street, and whistles with an overdue department clock by street."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from nameko.extensions import DependencyProvider
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from kit.db import Database
from kit.entrypoints import settings_of
from whistle.adapters.orm.whistles import WhistleDeadlineRow, WhistleRow
from whistle.domain.lifecycle import FINAL

Counts = tuple[list[tuple[str, str, int]], list[tuple[str, int]]]


def counts(db: Database) -> Counts:
    with db.session(write=False) as s:
        open_query = (
            select(WhistleRow.state, WhistleRow.street_code, func.count())
            .where(WhistleRow.state.not_in([str(state) for state in FINAL]))
            .group_by(WhistleRow.state, WhistleRow.street_code)
        )
        overdue_query = (
            select(WhistleRow.street_code, func.count(func.distinct(WhistleRow.id)))
            .join(WhistleDeadlineRow, WhistleDeadlineRow.whistle_id == WhistleRow.id)
            .where(WhistleDeadlineRow.status == "overdue")
            .group_by(WhistleRow.street_code)
        )
        by_state = [(str(state), str(street), int(n)) for state, street, n in s.execute(open_query)]
        by_street = [(str(street), int(n)) for street, n in s.execute(overdue_query)]
    return by_state, by_street


class WhistleCollector(Collector):
    def __init__(self) -> None:
        self.sources: dict[int, Callable[[], Counts]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        open_ = GaugeMetricFamily(
            "guandu_whistles_open", "Whistles not closed or merged, by state and street", labels=["state", "street"]
        )
        overdue = GaugeMetricFamily(
            "guandu_whistles_overdue", "Open whistles with a department's clock overdue, by street", labels=["street"]
        )
        for read in list(self.sources.values())[-1:]:  # one service per process: its latest container
            try:
                by_state, by_street = read()
            except Exception:  # noqa: S112 - a database that is down shows as missing series, and in /readyz
                continue
            for state, street, n in by_state:
                open_.add_metric([state, street], n)
            for street, n in by_street:
                overdue.add_metric([street], n)
        yield open_
        yield overdue


COLLECTOR = WhistleCollector()
REGISTRY.register(COLLECTOR)


class Gauges(DependencyProvider):
    """Declares the gauges' database for the container; workers get nothing from it."""

    def setup(self) -> None:
        self.db = Database(settings_of(self.container).database_url, pool_size=1)
        COLLECTOR.sources[id(self)] = lambda: counts(self.db)

    def stop(self) -> None:
        COLLECTOR.sources.pop(id(self), None)
        self.db.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> None:
        return None
