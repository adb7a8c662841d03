"""The organization service's wire contract (marshmallow): what the gateway validates and documents, and what
the service dumps. RPC carries plain dicts shaped by these schemas; one schema per contract."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from organization.domain.tree import Level

LEVELS = tuple(level.value for level in Level)
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
SORTABLE = ("code", "-code", "name", "-name", "created_at", "-created_at")


class Strict(Schema):
    """Unknown fields are an error (marshmallow's default RAISE), said once here for every contract."""

    class Meta:
        ordered = True


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


class OrgCreate(Strict):
    parent_id = fields.UUID(required=True, metadata={"description": "the parent node"})
    code = fields.String(
        required=True,
        validate=validate.Regexp(CODE_PATTERN, error="lowercase letters, digits and '-', at most 32, e.g. c07"),
        metadata={"description": "immutable code, unique among the parent's children; a segment of org_path"},
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    location = Geometry(load_default=None, allow_none=True)
    brand = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={"description": "a street's brand (一街道一品牌), e.g. 党建+滇池治理"},
    )


class OrgRename(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class OrgMove(Strict):
    new_parent_id = fields.UUID(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class OrgClose(Strict):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class OrgRead(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True)
    parent_id = fields.String(allow_none=True)
    org_path = fields.String(
        required=True, metadata={"description": "path of codes from the root, e.g. /gd/liujia/c07/"}
    )
    street_code = fields.String(required=True, metadata={"description": "the street the node lies in, or district"})
    location = fields.Dict(allow_none=True)
    brand = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(("active", "closed")))
    version = fields.Integer(required=True)
    created_at = fields.String(required=True)
    closed_at = fields.String(allow_none=True)


class OrgTree(OrgRead):
    children = fields.List(fields.Nested(lambda: OrgTree()), required=True)


class OrgPage(Schema):
    items = fields.List(fields.Nested(OrgRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class OrgList(Schema):
    items = fields.List(fields.Nested(OrgRead), required=True)


class LevelCounts(Schema):
    org_id = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class PageQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    # What a list gives out: URL-safe base64 (kit.pagination); anything else percent-encodes up to 12-fold and
    # a long one overran gunicorn's request line (a 414 in text/html). The cursor after a node named with 100
    # characters outside the BMP is 1,658 long.
    cursor = fields.String(validate=[validate.Length(max=2000), validate.Regexp(r"^[A-Za-z0-9_-]*$")])


class OrgFilter(PageQuery):
    """Query of GET /orgs: filters, sort and page."""

    level = fields.String(validate=validate.OneOf(LEVELS))
    street_code = fields.String(validate=validate.Regexp(r"^[a-z0-9]+$"))
    status = fields.String(validate=validate.OneOf(("active", "closed")))
    q = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "name contains"})
    sort = fields.String(load_default="code", validate=validate.OneOf(SORTABLE))


class SubtreeQuery(Strict):
    depth = fields.Integer(load_default=1, validate=validate.Range(min=0, max=5))


# -- accounts and authentication -----------------------------------------------------------------------
class Credentials(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class RefreshRequest(Strict):
    refresh_token = fields.String(required=True, validate=validate.Length(min=20, max=200), load_only=True)


class AccountRead(Schema):
    account_id = fields.String(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True)
    org_id = fields.String(allow_none=True)
    scope_path = fields.String(required=True)
    department_code = fields.String(allow_none=True)
    member_id = fields.String(allow_none=True)
    status = fields.String(required=True)
