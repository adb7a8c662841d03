"""Wire contract (marshmallow) of accounts: credentials and sessions, the account as read, and administration."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from kit.wire import Line, PageQuery, Strict, Text
from organization.domain.accounts import MAX_PASSWORD_LENGTH, MAX_SOURCE_LENGTH, ROLE_LEVELS, UNKNOWN_SOURCE


# -- accounts and authentication -----------------------------------------------------------------------
class Credentials(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class LoginAttempt(Credentials):
    """What the service is asked to check: the credentials and where the attempt came from."""

    source = fields.String(
        load_default=UNKNOWN_SOURCE,
        validate=validate.Length(min=1, max=MAX_SOURCE_LENGTH),
        metadata={"description": "the client's address, as the gateway saw it"},
    )


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


GRANTABLE_ROLES = tuple(ROLE_LEVELS)


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
    display_name = Line(100, required=True)
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
    reason = Text(500, min_length=1, required=True)


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
