"""Wire contract (marshmallow) of the four lists (四张清单): items, their notes, filters and pages."""

from __future__ import annotations

from marshmallow import fields, validate

from kit.wire import Day, Line, PageQuery, Strict, Text
from organization.domain.four_lists import ListKind, Status

KINDS = tuple(k.value for k in ListKind)


STATUSES = tuple(s.value for s in Status)


ITEM_SORTS = ("due", "-due", "created_at", "-created_at")


# -- four lists -----------------------------------------------------------------------------------------
class FourListItemCreate(Strict):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(KINDS),
        metadata={"description": "responsibility 责任, project 项目, problem 问题, rectification 整改"},
    )
    title = Line(200, required=True)
    description = Text(4000, load_default="")
    due_date = Day(required=True, metadata={"description": "the last day (Asia/Shanghai), YYYY-MM-DD"})
    org_id = fields.UUID(
        load_default=None,
        allow_none=True,
        metadata={"description": "the district, street or community node that owns it; the caller's own by default"},
    )
    owner_account_id = fields.UUID(
        load_default=None, allow_none=True, metadata={"description": "an account of that node; the caller by default"}
    )


class FourListItemUpdate(Strict):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    title = Line(200)
    description = Text(4000)
    due_date = Day()
    owner_account_id = fields.UUID()


class FourListStatusChange(Strict):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class FourListNoteCreate(Strict):
    text = Text(4000, min_length=1, required=True)


class FourListFilter(PageQuery):
    scope = fields.String(
        load_default="own",
        validate=validate.OneOf(("own", "below")),
        metadata={"description": "own: the caller's node's items; below: the items of the nodes under it"},
    )
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    overdue = fields.Boolean(metadata={"description": "true: flagged overdue and still open or in progress"})
    street_code = fields.String(validate=validate.Regexp(r"^[a-z0-9]+$"))
    sort = fields.String(load_default="due", validate=validate.OneOf(ITEM_SORTS))


class FourListNoteRead(Strict):
    id = fields.String(required=True)
    author_account_id = fields.String(allow_none=True)
    text = fields.String(required=True)
    created_at = fields.String(required=True)


class FourListItemRead(Strict):
    id = fields.String(required=True)
    org_id = fields.String(required=True)
    org_path = fields.String(required=True)
    street_code = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    owner_account_id = fields.String(required=True)
    due_date = fields.String(required=True)
    due_at = fields.String(required=True, metadata={"description": "when it becomes overdue (UTC)"})
    status = fields.String(required=True)
    version = fields.Integer(required=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)
    started_at = fields.String(allow_none=True)
    done_at = fields.String(allow_none=True)
    cancelled_at = fields.String(allow_none=True)
    overdue_at = fields.String(allow_none=True)
    notes = fields.List(fields.Nested(FourListNoteRead), metadata={"description": "progress notes, oldest first"})


class FourListPage(Strict):
    items = fields.List(fields.Nested(FourListItemRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
