"""Wire contract (marshmallow) of street brands and modules."""

from __future__ import annotations

from marshmallow import fields, validate

from kit.wire import Strict


# -- street modules -------------------------------------------------------------------------------------
class CatalogueEntry(Strict):
    code = fields.String(required=True)
    name = fields.String(required=True)


class StreetModulesRead(Strict):
    street_id = fields.String(required=True)
    street_code = fields.String(required=True)
    name = fields.String(required=True)
    brand = fields.String(allow_none=True)
    modules = fields.List(fields.String(), required=True)
    catalogue = fields.List(fields.Nested(CatalogueEntry), required=True)


class StreetModulesUpdate(Strict):
    modules = fields.List(
        fields.String(validate=validate.Length(min=1, max=32)),
        required=True,
        validate=validate.Length(max=50),
        metadata={"description": "the module codes the street runs (see `catalogue`)"},
    )
