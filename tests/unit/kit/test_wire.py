"""The wire basics: the page query takes back every cursor a list gives out, and days and times stay within
the calendar the suite can reckon with."""

import uuid

import pytest
from marshmallow import ValidationError

from kit.pagination import encode_cursor
from kit.wire import Day, Moment, PageQuery, Strict


def test_the_cursor_after_the_longest_name_is_accepted():
    """A node's name is up to 100 characters; after one of CJK characters the cursor was 858 long and the next
    page was refused (422: at most 500)."""
    for name in ("党" * 100, "😀" * 100):
        assert PageQuery().validate({"cursor": encode_cursor([name, str(uuid.uuid4())])}) == {}


class Dated(Strict):
    day = Day()
    moment = Moment()


@pytest.mark.parametrize(
    "body",
    [
        {"day": "0001-01-01"},
        {"day": "1899-12-31"},
        {"day": "2100-01-01"},
        {"day": "9999-12-31"},  # a due day's end in Asia/Shanghai overflowed: a 500 on four-list items
        {"moment": "0001-01-01T00:00:00+08:00"},  # before year 1 in UTC
        {"moment": "9999-12-31T23:59:59-08:00"},  # after year 9999 in UTC
        {"moment": "2100-01-01T00:00:00Z"},
    ],
)
def test_days_and_times_at_the_calendars_ends_are_refused(body):
    with pytest.raises(ValidationError) as refused:
        Dated().load(body)
    assert set(refused.value.messages) == set(body)


def test_days_and_times_of_the_calendar_load():
    loaded = Dated().load({"day": "2099-12-31", "moment": "1900-01-01T08:00:00+08:00"})
    assert (loaded["day"].year, loaded["moment"].year) == (2099, 1900)
