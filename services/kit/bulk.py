"""Bulk inserts inside a unit of work: many rows of one table in a few executemany statements.

For loaders (demo data, imports) that create thousands of domain objects in one transaction: the domain still
decides (each object is built through its rules and records its events), only the writing is batched. The
events go to the unit of work as usual, so they reach the outbox in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from kit.green import pause

CHUNK = 500  # rows a statement; other green threads run between statements (kit.green)


def insert_many(session: Session, model: type[Any], rows: Iterable[Mapping[str, Any]], *, chunk: int = CHUNK) -> int:
    """INSERT every row (a dict of column values) of `model`'s table, `chunk` rows a statement; how many.

    Rows are written in the order given, so a row may refer to one earlier in the same call (parent first).
    """
    total = 0
    iterator = iter(rows)
    statement = insert(model.__table__)  # Core, not the ORM's bulk path: the rows are plain column values
    while batch := [dict(row) for row in islice(iterator, chunk)]:
        session.execute(statement, batch)
        total += len(batch)
        if len(batch) == chunk:  # more may follow: let other green threads run between statements
            pause()
    return total
