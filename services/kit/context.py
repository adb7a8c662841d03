"""The caller's context: the explicit first argument of every RPC, validated here, used to scope queries.

It is never taken from a pooled proxy's context data, which is fixed when the proxy is built and would carry
one caller's scope into another caller's call.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from kit.errors import ServiceError

ROLES = (
    "district_admin",
    "street_secretary",
    "community_secretary",
    "branch_secretary",
    "department",
    "member",
    "resident",
)
# Internal callers: loaders and service-to-service work (`system`) and not-yet-authenticated calls such as
# a password check (`anonymous`, whose scope matches nothing).
INTERNAL_ROLES = ("system", "anonymous")
PATH_RE = re.compile(r"^/(?:[a-z0-9][a-z0-9-]{0,31}/)*$")
NO_SCOPE = ""


@dataclass(frozen=True)
class CallerContext:
    role: str
    scope_path: str
    correlation_id: str
    account_id: str | None = None
    department_code: str | None = None
    member_id: str | None = None

    def can_see(self, org_path: str) -> bool:
        """Object-level scope: a record is visible when its path lies under the caller's scope."""
        return bool(self.scope_path) and org_path.startswith(self.scope_path)

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: object) -> CallerContext:
        if isinstance(data, CallerContext):
            return data
        if not isinstance(data, dict):
            raise _invalid("the caller context must be an object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise _invalid(f"unknown caller context fields: {sorted(unknown)}")
        role = data.get("role")
        if role not in ROLES + INTERNAL_ROLES:
            raise _invalid(f"unknown role {role!r}")
        scope = data.get("scope_path")
        if not isinstance(scope, str) or (scope != NO_SCOPE and not PATH_RE.match(scope)):
            raise _invalid("scope_path must be an org path such as /gd/liujia/")
        if role == "anonymous" and scope != NO_SCOPE:
            raise _invalid("an anonymous caller has no scope")
        correlation_id = data.get("correlation_id")
        if not isinstance(correlation_id, str) or not 0 < len(correlation_id) <= 64:
            raise _invalid("correlation_id is required")
        for name in ("account_id", "department_code", "member_id"):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise _invalid(f"{name} must be a string")
        if role not in INTERNAL_ROLES and not data.get("account_id"):
            raise _invalid("an authenticated role needs an account_id")
        return cls(
            role=role,
            scope_path=scope,
            correlation_id=correlation_id,
            account_id=data.get("account_id"),
            department_code=data.get("department_code"),
            member_id=data.get("member_id"),
        )

    @classmethod
    def system(cls, correlation_id: str | None = None) -> CallerContext:
        return cls(role="system", scope_path="/", correlation_id=correlation_id or new_correlation_id())

    @classmethod
    def anonymous(cls, correlation_id: str | None = None) -> CallerContext:
        return cls(role="anonymous", scope_path=NO_SCOPE, correlation_id=correlation_id or new_correlation_id())


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def _invalid(detail: str) -> ServiceError:
    return ServiceError("bad_request", "CONTEXT_INVALID", detail)


def require_system(ctx: CallerContext) -> None:
    """Refuse a call that only the suite itself (a loader, the gateway's own checks) may make."""
    if ctx.role != "system":
        raise ServiceError("forbidden", "SYSTEM_ONLY", "only the suite itself may call this")


def require_authenticated(ctx: CallerContext) -> None:
    """Refuse a caller who has not logged in, for the few reads that are not scoped (an anonymous caller's empty
    scope already matches nothing in the scoped ones)."""
    if ctx.role == "anonymous":
        raise ServiceError("unauthenticated", "AUTH_REQUIRED", "log in first")
