"""The request headers the gateway reads itself: `X-Correlation-ID` and `Idempotency-Key`."""

from __future__ import annotations

import re
import uuid

from flask import g, request

from kit.context import new_correlation_id
from kit.errors import ServiceError

CORRELATION_HEADER = "X-Correlation-ID"
CORRELATION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
IDEMPOTENCY_RE = re.compile(r"[\x21-\x7e]{1,200}")  # 1-200 visible ASCII characters


def correlation_id() -> str:
    """This request's correlation id: the client's when it is a sensible one, otherwise a new one."""
    if "correlation_id" not in g:
        given = request.headers.get(CORRELATION_HEADER, "")
        g.correlation_id = given if CORRELATION_RE.fullmatch(given) else new_correlation_id()
    return str(g.correlation_id)


def idempotency_key(value: str | None) -> str:
    """The client's `Idempotency-Key`, validated, or a new one: each state-changing RPC carries one."""
    if value is None:
        return str(uuid.uuid4())
    if not IDEMPOTENCY_RE.fullmatch(value):
        raise ServiceError(
            "bad_request", "IDEMPOTENCY_KEY_INVALID", "Idempotency-Key must be 1 to 200 visible ASCII characters"
        )
    return value
