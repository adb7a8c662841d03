"""Wire contract (marshmallow) of notifications: the delivery log's filter and page."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from kit.wire import PageQuery

EVENT_TYPE = validate.Regexp(r"^[a-z_]+\.[a-z_]+$")


class DeliveryFilter(PageQuery):
    event_id = fields.String(validate=validate.Length(min=1, max=36))
    event_type = fields.String(validate=EVENT_TYPE)
    channel = fields.String(validate=validate.OneOf(("email", "webhook", "sms")))
    status = fields.String(validate=validate.OneOf(("sent", "failed")))


class DeliveryRead(Schema):
    """One send (or failed attempt) of a reminder, overdue or escalation notice; the address masked as stored."""

    id = fields.Integer(required=True)
    at = fields.String(required=True)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    channel = fields.String(required=True)
    address = fields.String(required=True, metadata={"description": "masked (the log keeps a digest beside it)"})
    status = fields.String(required=True, validate=validate.OneOf(("sent", "failed")))
    error = fields.String(allow_none=True, required=True)
    attempts = fields.Integer(required=True)


class DeliveryPage(Schema):
    items = fields.List(fields.Nested(DeliveryRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
