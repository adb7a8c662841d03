"""Wire contract (marshmallow) of the monthly assessment (一哨一考核): the query of a month's figures and the
figures as read (the same figures `whistle.month_assessed` carries)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from kit.wire import Strict
from whistle.domain.assessment import GROUPS

# Years 1900-2099: a month the suite can reckon with (as organization's periods).
MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"


class WhistleStatsQuery(Strict):
    month = fields.String(
        required=True,
        validate=validate.Regexp(MONTH_PATTERN, error="a month like 2026-03"),
        metadata={"description": "YYYY-MM, cut in Asia/Shanghai by when departments were summoned"},
    )
    group_by = fields.String(load_default="department", validate=validate.OneOf(GROUPS))


def _rate(description: str) -> fields.Float:
    return fields.Float(allow_none=True, required=True, metadata={"description": f"{description}; null: none counted"})


class FiguresRead(Schema):
    key = fields.String(required=True, metadata={"description": "the department's or the street's code"})
    rank = fields.Integer(required=True, metadata={"description": "1 is best; equals share a rank (1, 1, 3)"})
    ranked_among = fields.Integer(required=True)
    summonses = fields.Integer(required=True, metadata={"description": "summonses counted (returned ones apart)"})
    returned = fields.Integer(required=True, metadata={"description": "returned as not this department's job"})
    answered = fields.Integer(required=True, metadata={"description": "requesters who said how satisfied"})
    response_rate = _rate("reported in on time / summonses")
    resolution_rate = _rate("resolved on time / summonses")
    satisfaction_rate = _rate("satisfied or basically satisfied / answered")
    average_report_in_hours = fields.Float(allow_none=True, required=True)
    average_resolution_hours = fields.Float(allow_none=True, required=True)
    average_rating = fields.Float(allow_none=True, required=True, metadata={"description": "the secretaries' 1-5"})
    overdue = fields.Integer(required=True, metadata={"description": "late on either stage by the month's end"})


class WhistleStatsRead(Schema):
    month = fields.String(required=True)
    group_by = fields.String(required=True, validate=validate.OneOf(GROUPS))
    within = fields.String(
        required=True, metadata={"description": "district, or the street whose departments are ranked"}
    )
    final = fields.Boolean(required=True, metadata={"description": "the month is closed: the figures scoring got"})
    as_of = fields.String(required=True, metadata={"description": "what had happened by then counts"})
    closed_at = fields.String(allow_none=True, required=True)
    items = fields.List(fields.Nested(FiguresRead), required=True)
