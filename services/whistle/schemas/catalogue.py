"""Wire contract (marshmallow) of the situation catalogue and the departments a whistle may summon."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from kit.wire import Day, Strict
from whistle.domain.calendar import Unit
from whistle.domain.catalogue import Kind

KINDS = tuple(k.value for k in Kind)


class SituationFilter(Strict):
    kind = fields.String(validate=validate.OneOf(KINDS), load_default=None, allow_none=True)
    on = Day(
        load_default=None, allow_none=True, metadata={"description": "the version in effect that day; today by default"}
    )


class CataloguePublish(Strict):
    """A new version, in the shape of the shipped catalogue/default.yaml; the service checks it whole."""

    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    effective_from = Day(required=True, metadata={"description": "today or later, after the latest version's"})
    kinds = fields.Dict(keys=fields.String(validate=validate.OneOf(KINDS)), values=fields.Dict(), load_default=dict)
    situations = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=500))


class LimitRead(Schema):
    amount = fields.Integer(required=True)
    unit = fields.String(required=True, validate=validate.OneOf(tuple(u.value for u in Unit)))


class KindRead(Schema):
    code = fields.String(required=True, validate=validate.OneOf(KINDS))
    name = fields.String(required=True)
    report_in = fields.Nested(LimitRead, required=True)
    resolution = fields.Nested(LimitRead, required=True)
    situations = fields.Integer(required=True)


class KindList(Schema):
    version = fields.Integer(required=True)
    items = fields.List(fields.Nested(KindRead), required=True)


class SituationRead(Schema):
    code = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    name = fields.String(required=True)
    standard = fields.String(required=True)
    lead = fields.String(required=True)
    assisting = fields.List(fields.String(), required=True)
    report_in = fields.Nested(LimitRead, required=True)
    resolution = fields.Nested(LimitRead, required=True)


class SituationList(Schema):
    version = fields.Integer(required=True)
    effective_from = fields.String(required=True)
    items = fields.List(fields.Nested(SituationRead), required=True)


class CatalogueVersionRead(Schema):
    version = fields.Integer(required=True)
    effective_from = fields.String(required=True)
    kinds = fields.List(fields.Nested(KindRead), required=True)
    situations = fields.List(fields.Nested(SituationRead), required=True)


class DepartmentRead(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    org_id = fields.String(required=True)


class DepartmentList(Schema):
    items = fields.List(fields.Nested(DepartmentRead), required=True)
