"""Wire contract (marshmallow) of notifications: the delivery log's filter."""

from __future__ import annotations

from marshmallow import fields, validate

from kit.wire import PageQuery

EVENT_TYPE = validate.Regexp(r"^[a-z_]+\.[a-z_]+$")


class DeliveryFilter(PageQuery):
    event_id = fields.String(validate=validate.Length(min=1, max=36))
    event_type = fields.String(validate=EVENT_TYPE)
    channel = fields.String(validate=validate.OneOf(("email", "webhook", "sms")))
    status = fields.String(validate=validate.OneOf(("sent", "failed")))
