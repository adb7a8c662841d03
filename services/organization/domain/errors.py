"""The organization domain's errors: each has a stable code and a kind the kit maps to an HTTP status."""

from __future__ import annotations


class OrgError(Exception):
    kind = "invalid"
    code = "ORG_INVALID"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class OrgNotFound(OrgError):
    kind = "not_found"
    code = "ORG_NOT_FOUND"


class LevelNotAllowed(OrgError):
    code = "ORG_LEVEL_NOT_ALLOWED"


class InvalidCode(OrgError):
    code = "ORG_CODE_INVALID"


class CycleRefused(OrgError):
    code = "ORG_CYCLE"


class CodeTaken(OrgError):
    kind = "conflict"
    code = "ORG_CODE_TAKEN"


class StaleVersion(OrgError):
    kind = "conflict"
    code = "ORG_STALE"


class NodeClosed(OrgError):
    kind = "conflict"
    code = "ORG_CLOSED"


class HasActiveChildren(OrgError):
    kind = "conflict"
    code = "ORG_HAS_ACTIVE_CHILDREN"


class RootExists(OrgError):
    kind = "conflict"
    code = "ORG_ROOT_EXISTS"


class RoleCannotCreateLevel(OrgError):
    kind = "forbidden"
    code = "ORG_ROLE_CANNOT_CREATE_LEVEL"


class RoleCannotChangeLevel(OrgError):
    kind = "forbidden"
    code = "ORG_ROLE_CANNOT_CHANGE_LEVEL"


class AuthError(Exception):
    kind = "unauthenticated"
    code = "AUTH_INVALID_CREDENTIALS"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidCredentials(AuthError):
    code = "AUTH_INVALID_CREDENTIALS"


class AccountLocked(AuthError):
    code = "AUTH_ACCOUNT_LOCKED"


class AccountDisabled(AuthError):
    code = "AUTH_ACCOUNT_DISABLED"


class RefreshInvalid(AuthError):
    code = "AUTH_REFRESH_INVALID"


class AccountNotFound(AuthError):
    kind = "not_found"
    code = "ACCOUNT_NOT_FOUND"
