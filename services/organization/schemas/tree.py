"""Wire contract (marshmallow) of the organisation tree: what the gateway validates and documents, and what the
service dumps. RPC carries plain dicts shaped by these schemas; one schema per contract."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from kit.wire import Geometry, Line, PageQuery, Strict
from organization.domain.tree import Level

LEVELS = tuple(level.value for level in Level)


CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"


SORTABLE = ("code", "-code", "name", "-name", "created_at", "-created_at")


class OrgCreate(Strict):
    parent_id = fields.UUID(required=True, metadata={"description": "the parent node"})
    code = fields.String(
        required=True,
        validate=validate.Regexp(CODE_PATTERN, error="lowercase letters, digits and '-', at most 32, e.g. c07"),
        metadata={"description": "immutable code, unique among the parent's children; a segment of org_path"},
    )
    name = Line(100, required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    location = Geometry(load_default=None, allow_none=True)
    brand = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={"description": "a street's brand (一街道一品牌), e.g. 党建+滇池治理"},
    )


class OrgRename(Strict):
    name = Line(100, required=True)
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


class DepartmentRead(Schema):
    """A city department as every role may see it: enough to summon it (whistle) or address its desk."""

    id = fields.String(required=True)
    code = fields.String(required=True, metadata={"description": "e.g. water; its desk account is <code>.desk"})
    name = fields.String(required=True, metadata={"description": "e.g. 水务局"})
    org_path = fields.String(required=True, metadata={"description": "e.g. /departments/water/"})


class DepartmentList(Schema):
    """Every active department, by code: one short list (a district has tens), so not paged."""

    items = fields.List(fields.Nested(DepartmentRead), required=True)


class LevelCounts(Schema):
    org_id = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class OrgFilter(PageQuery):
    """Query of GET /orgs: filters, sort and page."""

    level = fields.String(validate=validate.OneOf(LEVELS))
    street_code = fields.String(validate=validate.Regexp(r"^[a-z0-9]+$"))
    status = fields.String(validate=validate.OneOf(("active", "closed")))
    q = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "name contains"})
    sort = fields.String(load_default="code", validate=validate.OneOf(SORTABLE))


class SubtreeQuery(Strict):
    depth = fields.Integer(load_default=1, validate=validate.Range(min=0, max=5))
