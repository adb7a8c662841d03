"""Keyset (cursor) pagination for every list: stable under inserts, no OFFSET scans.

A cursor is the sort key of the last row served, opaque to clients (URL-safe base64 of JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from kit.clock import isoformat_z, parse_iso
from kit.errors import ServiceError
from kit.orm import UtcDateTime

MAX_LIMIT = 100
Order = Sequence[tuple[InstrumentedAttribute[Any], bool]]  # (column, descending); the last one unique


def encode_cursor(values: Sequence[Any]) -> str:
    wire = [isoformat_z(v) if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(wire, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: Order) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(order):
            raise ValueError("wrong shape")
        return [_decoded(v, col) for v, (col, _) in zip(raw, order, strict=True)]
    except (ValueError, binascii.Error, TypeError, OverflowError) as exc:
        raise ServiceError("bad_request", "PAGE_CURSOR_INVALID", "the cursor is not one this list gave out") from exc


def _decoded(value: Any, column: InstrumentedAttribute[Any]) -> Any:
    """A cursor's value as its column's type. Any other (null, a list, a number for a name, an integer beyond
    64 bits) reached the database as a bind parameter it cannot take: a 500."""
    timestamp = isinstance(column.type, UtcDateTime)
    if type(value) is not (str if timestamp else column.type.python_type):
        raise TypeError(f"a {type(value).__name__} where the list sorts by {column.key}")
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ValueError("an integer beyond 64 bits")
    return parse_iso(value) if timestamp else value


def _after(order: Order, values: Sequence[Any]) -> Any:
    """Rows strictly after `values` in the given order: (a > x) or (a = x and b > y) or ..."""
    clauses = []
    for i, (col, desc) in enumerate(order):
        equal = [c == v for (c, _), v in zip(order[:i], values[:i], strict=True)]
        beyond = col < values[i] if desc else col > values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def page(
    session: Session, query: Select[Any], order: Order, *, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """One page of `query` and the cursor of the next page (None on the last)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        query = query.where(_after(order, decode_cursor(cursor, order)))
    query = query.order_by(*[col.desc() if desc else col.asc() for col, desc in order]).limit(limit + 1)
    rows = list(session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor([getattr(last, col.key) for col, _ in order])
