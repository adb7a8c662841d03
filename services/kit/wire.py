"""Wire-contract basics every service's marshmallow schemas build on: strict schemas (unknown fields are an
error), the page query of every list, days and times the suite can reckon with, and GeoJSON geometry."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate


class Strict(Schema):
    """Unknown fields are an error (marshmallow's default RAISE), said once here for every contract."""

    class Meta:
        ordered = True


class PageQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    # What a list gives out: URL-safe base64 (kit.pagination); anything else percent-encodes up to 12-fold and
    # a long one overran gunicorn's request line (a 414 in text/html). The cursor after a node named with 100
    # characters outside the BMP is 1,658 long.
    cursor = fields.String(validate=[validate.Length(max=2000), validate.Regexp(r"^[A-Za-z0-9_-]*$")])


# Control characters (Unicode category Cc): a name or title holds none (a NUL, an escape sequence or a bell in a
# name breaks every place it is shown, logged or exported); a longer text keeps its tabs and line breaks only.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _no_control(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("no control characters (a name or title is one line of text)")


def _no_control_in_text(value: str) -> None:
    if _CONTROL_IN_TEXT.search(value):
        raise ValidationError("no control characters but tabs and line breaks")


class Line(fields.String):
    """One line of text (a name, a title): `max_length` characters at most, none of them a control character."""

    def __init__(self, max_length: int, *, min_length: int = 1, **kwargs: Any) -> None:
        super().__init__(validate=[validate.Length(min=min_length, max=max_length), _no_control], **kwargs)


class Text(fields.String):
    """Free text (a description, a note, a reason): tabs and line breaks allowed, no other control character."""

    def __init__(self, max_length: int, *, min_length: int = 0, **kwargs: Any) -> None:
        super().__init__(validate=[validate.Length(min=min_length, max=max_length), _no_control_in_text], **kwargs)


# Days and times the suite accepts: 1900-2099. At the calendar's ends the arithmetic every record does overflows
# (a due day's end in Asia/Shanghai, a month's next month, a time's UTC value), so such input is refused where the
# wire contract is, never found by a 500 later.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2099, 12, 31)
_FIRST_TIME, _END_TIME = datetime(1900, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _in_calendar(value: date) -> None:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValidationError("a day from 1900 to 2099")


def _in_calendar_time(value: datetime) -> None:
    if not _FIRST_TIME <= value < _END_TIME:
        raise ValidationError("a time from 1900 to 2099")


class Day(fields.Date):
    """An ISO day (YYYY-MM-DD) from 1900 to 2099."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=_in_calendar, **kwargs)


class Moment(fields.AwareDateTime):
    """An ISO time with its offset, from 1900 to 2099 (in UTC, as it is stored)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=_in_calendar_time, **kwargs)


def _validate_geometry(value: dict[str, Any]) -> None:
    kind = value.get("type")
    coords = value.get("coordinates")
    if kind == "Point":
        if not (isinstance(coords, list) and len(coords) == 2 and all(isinstance(c, (int, float)) for c in coords)):
            raise ValidationError("a Point has [longitude, latitude]")
        lon, lat = coords
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError("longitude must be within ±180 and latitude within ±90")
    elif kind == "Polygon":
        if not (isinstance(coords, list) and coords and all(isinstance(ring, list) for ring in coords)):
            raise ValidationError("a Polygon has a list of linear rings")
        for ring in coords:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValidationError("each ring has at least 4 positions and is closed")
            for point in ring:
                if not (
                    isinstance(point, list) and len(point) == 2 and all(isinstance(c, (int, float)) for c in point)
                ):
                    raise ValidationError("each position is [longitude, latitude]")
    else:
        raise ValidationError("type must be Point or Polygon")
    if set(value) - {"type", "coordinates"}:
        raise ValidationError("a geometry has only type and coordinates")


class Geometry(fields.Dict):
    """A GeoJSON Point or Polygon (WGS 84 longitude, latitude)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=_validate_geometry, metadata={"description": "GeoJSON Point or Polygon"}, **kwargs)
