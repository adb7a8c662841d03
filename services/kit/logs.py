"""Structured JSON logs (structlog) with the correlation id bound per request, worker or message, and
personal data masked by a processor before anything is written."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

# Mainland ID numbers (18 characters, the last may be X) and mobile numbers (11 digits from 1[3-9]).
ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """`530102199001011234` -> `530102********1234`; `13812345678` -> `138****5678`."""
    text = ID_NUMBER_RE.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), text)
    return PHONE_RE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_mask(v) for v in value)
    return value


def mask_personal_data(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        event_dict[key] = _mask(value)
    return event_dict


def configure_logging(process: str, *, level: str = "INFO") -> None:
    """JSON lines on stderr for structlog and the standard library alike (nameko, kombu, gunicorn)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            lambda _l, _m, ed: {**ed, "process": process},
            mask_personal_data,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("amqp", "kombu", "nameko.containers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind values (the correlation id) to every log line written inside the block."""
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
