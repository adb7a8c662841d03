"""The whistle service's notification set-up, read once at start: the channels the environment configures
(`kit.notify.channels_from_settings`) and the routing data (`catalogue/notifications.yaml`, or the file
`NOTIFY_ROUTING_FILE` names); and the delivery log's queries for `list_deliveries`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from nameko.extensions import DependencyProvider
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kit.config import Settings
from kit.entrypoints import settings_of
from kit.notify import Channel, DeliveryLog, Notifier, Routing, channels_from_settings
from kit.orm import DeliveryRow
from kit.pagination import page
from whistle.catalogue import HERE as CATALOGUE_DIR

log = logging.getLogger("whistle.notifications")

DEFAULT_ROUTING_FILE = CATALOGUE_DIR / "notifications.yaml"
TRUE = ("1", "true", "yes")


@dataclass(frozen=True)
class NotifySetup:
    """What every notification handler shares: the configured channels, the routing left to them, and the
    streets' display names (for the message text)."""

    channels: tuple[Channel, ...]
    routing: Routing
    street_names: Mapping[str, str] = field(default_factory=dict)

    def notifier(self, delivery_log: DeliveryLog) -> Notifier:
        return Notifier(self.channels, self.routing, delivery_log)


def without_channels(routing: Routing, unconfigured: set[str]) -> Routing:
    """The routing with every target on an unconfigured channel taken out (and rules left with none dropped)."""
    rules = []
    for rule in routing.rules:
        kept = tuple(t for t in rule.to if t.channel not in unconfigured)
        if kept:
            rules.append(replace(rule, to=kept))
    return Routing(tuple(rules))


def notify_setup(settings: Settings) -> NotifySetup:
    """Channels and routing from the settings. A routing file that is missing or malformed refuses the start
    (a typo must not silence every reminder); a channel the routing names but the environment does not
    configure is left out with a warning, unless `NOTIFY_STRICT_ROUTING=true` makes that refuse too."""
    env = settings.extra
    path = Path(env.get("NOTIFY_ROUTING_FILE") or DEFAULT_ROUTING_FILE)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        routing = Routing.from_data(data)
    except (OSError, yaml.YAMLError, ValueError, AttributeError) as exc:
        raise RuntimeError(f"notification routing {path} is unusable: {exc}") from exc
    names = (data.get("street_names") or {}) if isinstance(data, Mapping) else {}
    channels = channels_from_settings(settings)
    unconfigured = routing.channels() - {channel.name for channel in channels}
    if unconfigured:
        what = f"notification routing {path} names channels that are not configured: {sorted(unconfigured)}"
        if env.get("NOTIFY_STRICT_ROUTING", "false").lower() in TRUE:
            raise RuntimeError(f"{what} (NOTIFY_STRICT_ROUTING is on)")
        log.warning("%s; their targets are left out until configured", what)
        routing = without_channels(routing, unconfigured)
    if not routing.rules:
        log.warning("no notification channel configured: reminders and escalations reach no one")
    return NotifySetup(tuple(channels), routing, {str(k): str(v) for k, v in names.items()})


class Notifications(DependencyProvider):
    """Hands each worker the service's `NotifySetup`, built at container setup (a bad routing file stops the
    start, with the reason)."""

    def setup(self) -> None:
        self.notify = notify_setup(settings_of(self.container))

    def get_dependency(self, worker_ctx: Any) -> NotifySetup:
        return self.notify


# -- the delivery log, read ---------------------------------------------------------------------------------
ORDER = ((DeliveryRow.at, True), (DeliveryRow.id, True))


class DeliveryRepository:
    """`kit_deliveries`, newest first. Unscoped: only a district admin reads it (the use case checks)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def search(
        self, filters: Mapping[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[list[DeliveryRow], str | None]:
        query: Select[Any] = select(DeliveryRow)
        for name, column in (
            ("event_id", DeliveryRow.event_id),
            ("event_type", DeliveryRow.event_type),
            ("channel", DeliveryRow.channel),
            ("status", DeliveryRow.status),
        ):
            if filters.get(name):
                query = query.where(column == filters[name])
        return page(self.session, query, ORDER, limit=limit, cursor=cursor)
