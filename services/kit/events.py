"""The CloudEvents 1.0 envelope every service publishes, and the check that a message is one.

Routing key `<type>.<street>`; one envelope (one id) per fact, published once per street it concerns.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from kit.clock import isoformat_z

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
DEPARTMENTS_EXCHANGE = "departments"
# Where city departments' systems publish their commands (`<command type>.<street>`), to the service that acts.
DEPARTMENT_COMMANDS_EXCHANGE = "departments.commands"


def exchange_for(service: str) -> str:
    return f"{service}.events"


def dataschema(event_type: str, version: int) -> str:
    return f"urn:guandu:events:{event_type}:v{version}"


@dataclass(frozen=True)
class Event:
    """A fact a service publishes: what the unit of work turns into outbox rows."""

    type: str
    subject: str
    data: dict[str, Any]
    street_codes: tuple[str, ...]
    org_path: str
    time: datetime
    schema_version: int = 1
    # City departments this fact is for: also routed to `departments` as `<code>.<type>`.
    department_codes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.street_codes:
            raise ValueError(f"{self.type}: an event needs at least one street code (or 'district')")


def envelope(event: Event, *, source_service: str, correlation_id: str, event_id: str | None = None) -> dict[str, Any]:
    """The structured-mode envelope; the same id for every street the fact is published to."""
    return {
        "specversion": SPECVERSION,
        "id": event_id or str(uuid.uuid4()),
        "type": event.type,
        "source": f"/guandu/{source_service}",
        "time": isoformat_z(event.time),
        "subject": event.subject,
        "datacontenttype": "application/json",
        "dataschema": dataschema(event.type, event.schema_version),
        "data": event.data,
        "streetcode": event.street_codes[0],
        "orgpath": event.org_path,
        "correlationid": correlation_id,
    }


def routes(event: Event, env: dict[str, Any], source_service: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(exchange, routing key, body) for each copy: one per street, plus one per department."""
    copies = [
        (exchange_for(source_service), f"{event.type}.{street}", {**env, "streetcode": street})
        for street in event.street_codes
    ]
    copies += [(DEPARTMENTS_EXCHANGE, f"{code}.{event.type}", env) for code in event.department_codes]
    return copies


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching, as the broker does it: `*` is one word, `#` zero or more (words split on `.`)."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head in ("*", words[0])) and _match(rest, words[1:])


@cache
def envelope_schema() -> dict[str, Any]:
    text = (Path(__file__).parent / "schemas" / "cloudevent.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


class InvalidEnvelope(ValueError):
    pass


def validate_envelope(body: object) -> dict[str, Any]:
    """The body as an envelope, or InvalidEnvelope naming what is wrong."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise InvalidEnvelope(f"not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidEnvelope("the envelope must be a JSON object")
    errors = sorted(jsonschema.Draft202012Validator(envelope_schema()).iter_errors(body), key=str)
    if errors:
        raise InvalidEnvelope("; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors))
    return body
