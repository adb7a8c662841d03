"""A cursor is only ever one a list gave out: anything else is PAGE_CURSOR_INVALID (a 400), never a 500."""

import base64
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import BigInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.errors import ServiceError
from kit.orm import UtcDateTime
from kit.pagination import decode_cursor, encode_cursor


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    seq: Mapped[int] = mapped_column(BigInteger())


BY_TIME = [(Row.recorded_at, True), (Row.id, True)]
BY_SEQ = [(Row.seq, True)]


def cursor_of(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_a_cursor_given_out_reads_back():
    when = datetime(2026, 11, 3, 4, 5, 6, tzinfo=UTC)
    assert decode_cursor(encode_cursor([when, "r-1"]), BY_TIME) == [when, "r-1"]
    assert decode_cursor(encode_cursor([42]), BY_SEQ) == [42]


@pytest.mark.parametrize(
    ("values", "order"),
    [
        ([{"a": 1}, {"b": 2}], BY_TIME),  # these reached SQLAlchemy as bind parameters: a 500 (found by fuzzing)
        ([[1], [2]], BY_TIME),
        ([None, None], BY_TIME),
        ([1e308, "x"], BY_TIME),
        (["2026-11-03T04:05:06Z", 7], BY_TIME),
        (["0001-01-01T00:00:00+08:00", "x"], BY_TIME),  # before year 1 in UTC
        ([True], BY_SEQ),
        ([2.5], BY_SEQ),
        ([2**70], BY_SEQ),  # beyond SQLite's and PostgreSQL's BIGINT
        (["x"], BY_TIME),  # wrong length
    ],
)
def test_a_cursor_of_other_values_is_refused(values, order):
    with pytest.raises(ServiceError) as refused:
        decode_cursor(cursor_of(values), order)
    assert refused.value.code == "PAGE_CURSOR_INVALID"
