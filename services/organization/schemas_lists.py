"""Wire contract (marshmallow) of the four lists, street modules and account administration: what the gateway
validates and documents and the service dumps. Unknown fields are refused (marshmallow's RAISE)."""

from __future__ import annotations

from datetime import date

from marshmallow import ValidationError, fields, validate

from organization.domain.account_admin import MAX_PASSWORD_LENGTH, ROLE_LEVELS
from organization.domain.four_lists import ListKind, Status
from organization.schemas import AccountRead, PageQuery, Strict

KINDS = tuple(k.value for k in ListKind)
STATUSES = tuple(s.value for s in Status)
ITEM_SORTS = ("due", "-due", "created_at", "-created_at")
GRANTABLE_ROLES = tuple(ROLE_LEVELS)


# -- four lists -----------------------------------------------------------------------------------------
def _due_date(value: date) -> None:
    """An item is overdue from the end of its day in Asia/Shanghai: 9999-12-31 has none (an OverflowError)."""
    if not date(1900, 1, 1) <= value <= date(2099, 12, 31):
        raise ValidationError("a day from 1900 to 2099")


class FourListItemCreate(Strict):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(KINDS),
        metadata={"description": "responsibility 责任, project 项目, problem 问题, rectification 整改"},
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    due_date = fields.Date(
        required=True, validate=_due_date, metadata={"description": "the last day (Asia/Shanghai), YYYY-MM-DD"}
    )
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
    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=4000))
    due_date = fields.Date(validate=_due_date)
    owner_account_id = fields.UUID()


class FourListStatusChange(Strict):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class FourListNoteCreate(Strict):
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))


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


# -- accounts -------------------------------------------------------------------------------------------
class Password(fields.String):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH),
            load_only=True,
            metadata={"description": "at least 10 characters; omitted: a one-time temporary password is made"},
            **kwargs,  # type: ignore[arg-type]
        )


class AccountCreate(Strict):
    username = fields.String(
        required=True,
        validate=validate.Regexp(r"^[a-z0-9][a-z0-9._-]{2,63}$", error="3-64 of a-z 0-9 . _ -, e.g. liujia.c01.clerk"),
    )
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=validate.OneOf(GRANTABLE_ROLES))
    org_id = fields.UUID(required=True, metadata={"description": "the node the account belongs to"})
    member_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=36), metadata={"description": "member"}
    )
    password = Password(load_default=None, allow_none=True)


class AccountFilter(PageQuery):
    role = fields.String(validate=validate.OneOf(GRANTABLE_ROLES))
    status = fields.String(validate=validate.OneOf(("active", "disabled")))
    org_id = fields.UUID()
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "username contains"})
    sort = fields.String(load_default="username", validate=validate.OneOf(("username", "-username")))


class AccountDisable(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AccountEnable(Strict):
    pass


class PasswordReset(Strict):
    password = Password(load_default=None, allow_none=True)


class AccountAdminRead(AccountRead):
    temporary_password = fields.String(
        allow_none=True,
        metadata={"description": "shown once, when the service made the password; never stored in clear"},
    )


class AccountPage(Strict):
    items = fields.List(fields.Nested(AccountRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
