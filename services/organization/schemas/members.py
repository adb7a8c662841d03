"""The members' wire contract (marshmallow), shared by the gateway and the service like every `schemas/<topic>.py`.

Personal data is validated for shape here and by the domain's checksum; error messages never repeat the
value sent, since problem bodies and logs must not carry it."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from kit.wire import Day, Line, Moment, PageQuery, Strict
from organization.domain.members import (
    BRANCH_ROLES,
    GENDERS,
    LEAVE_REASONS,
    STATUSES,
    is_valid_id_number,
    is_valid_phone,
)


def _id_number(value: str) -> None:
    if not is_valid_id_number(value):
        raise ValidationError("not a valid 18-character resident ID number (GB 11643 checksum)")


def _phone(value: str) -> None:
    if not is_valid_phone(value):
        raise ValidationError("not a mainland mobile number (11 digits from 13-19)")


class MemberCreate(Strict):
    branch_id = fields.UUID(required=True, metadata={"description": "the party branch (an org node of level branch)"})
    name = Line(50, required=True)
    id_number = fields.String(
        required=True,
        validate=_id_number,
        metadata={"description": "18-character resident ID number; stored encrypted"},
    )
    phone = fields.String(
        load_default=None, allow_none=True, validate=_phone, metadata={"description": "mobile; stored encrypted"}
    )
    role = fields.String(load_default="member", validate=validate.OneOf(BRANCH_ROLES))
    gender = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(GENDERS))
    birth_date = Day(load_default=None, allow_none=True)
    education = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50))
    joined_party_on = Day(required=True)
    full_member_on = Day(
        load_default=None, allow_none=True, metadata={"description": "probationary until this date is set"}
    )


class RosterRow(MemberCreate):
    """One row of an imported roster: the branch is the file's."""

    class Meta:
        exclude = ("branch_id",)


class MemberUpdate(Strict):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    name = Line(50)
    phone = fields.String(allow_none=True, validate=_phone)
    role = fields.String(validate=validate.OneOf(BRANCH_ROLES))
    gender = fields.String(allow_none=True, validate=validate.OneOf(GENDERS))
    birth_date = Day(allow_none=True)
    education = fields.String(allow_none=True, validate=validate.Length(max=50))
    joined_party_on = Day()
    full_member_on = Day(allow_none=True)

    @validates_schema
    def _something(self, data: dict[str, object], **_: object) -> None:
        if set(data) == {"version"}:
            raise ValidationError("send at least one field to change", "_schema")


class MemberTransfer(Strict):
    to_branch_id = fields.UUID(required=True)
    transferred_on = Day(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class MemberLeave(Strict):
    left_on = Day(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(LEAVE_REASONS))
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class MemberGet(Strict):
    reveal = fields.Boolean(
        load_default=False, metadata={"description": "unmasked ID number and phone, for a role allowed; logged"}
    )


class MemberFilter(PageQuery):
    q = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "name contains"})
    branch_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(STATUSES))


class RosterExport(Strict):
    branch_id = fields.UUID(required=True)
    reveal = fields.Boolean(load_default=False)


class AccessLogFilter(PageQuery):
    member_id = fields.UUID()
    account_id = fields.UUID()
    since = Moment(metadata={"description": "from this time (inclusive)"})
    until = Moment(metadata={"description": "before this time"})


class MemberRead(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    branch_id = fields.String(required=True)
    org_path = fields.String(required=True)
    street_code = fields.String(required=True)
    role = fields.String(required=True)
    gender = fields.String(allow_none=True)
    birth_date = fields.String(allow_none=True)
    education = fields.String(allow_none=True)
    joined_party_on = fields.String(required=True)
    full_member_on = fields.String(allow_none=True)
    standing = fields.String(required=True, validate=validate.OneOf(("probationary", "full")))
    id_number = fields.String(required=True, metadata={"description": "masked (530102********1234) unless revealed"})
    phone = fields.String(allow_none=True, metadata={"description": "masked (138****5678) unless revealed"})
    revealed = fields.Boolean(required=True)
    status = fields.String(required=True)
    left_on = fields.String(allow_none=True)
    leave_reason = fields.String(allow_none=True)
    version = fields.Integer(required=True)
    registered_at = fields.String(required=True)


class MemberPage(Schema):
    items = fields.List(fields.Nested(MemberRead), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class TransferRead(Schema):
    from_branch_id = fields.String(required=True)
    from_org_path = fields.String(required=True)
    to_branch_id = fields.String(required=True)
    to_org_path = fields.String(required=True)
    transferred_on = fields.String(required=True)
    recorded_at = fields.String(required=True)


class TransferList(Schema):
    items = fields.List(fields.Nested(TransferRead), required=True)


class ImportResult(Schema):
    branch_id = fields.String(required=True)
    imported = fields.Integer(required=True)
    member_ids = fields.List(fields.String(), required=True)


class AccessLogEntry(Schema):
    occurred_at = fields.String(required=True)
    account_id = fields.String(allow_none=True)
    role = fields.String(required=True)
    member_id = fields.String(required=True)
    fields_read = fields.List(fields.String(), required=True, data_key="fields", attribute="fields")
    action = fields.String(required=True, validate=validate.OneOf(("read", "export")))
    correlation_id = fields.String(required=True)


class AccessLogPage(Schema):
    items = fields.List(fields.Nested(AccessLogEntry), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
