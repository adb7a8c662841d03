"""Accounts and their sessions: lockout after repeated failures, refresh tokens rotated on every use with
reuse detection (a rotated token presented again revokes its whole family); and administering them: which role
an administrator may hand out, on which kind of node each role sits, and the minimum password policy. Pure rules;
the use cases fetch the nodes and accounts they judge."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from organization.domain.errors import AccountDisabled, OrgError, RefreshInvalid
from organization.domain.members import Member


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SessionPolicy:
    refresh_ttl: timedelta = timedelta(days=14)


# The gateway's access tokens live at most this long (its config refuses more): a session ended longer ago than
# this has no live access token left, so the account's state lists only the sessions ended within it.
ACCESS_TOKEN_MAX_LIFETIME = timedelta(minutes=15)


@dataclass
class Account:
    id: str
    username: str
    display_name: str
    role: str
    org_id: str | None
    status: str = "active"
    department_code: str | None = None
    member_id: str | None = None

    def check_can_log_in(self) -> None:
        """Asked only once the password was right: whoever knows it may learn the account is disabled."""
        if self.status != "active":
            raise AccountDisabled("this account is disabled")

    def disable(self) -> bool:
        """Stop this account from logging in or refreshing; False when it already was disabled."""
        if self.status == "disabled":
            return False
        self.status = "disabled"
        return True


UNKNOWN_SOURCE = "unknown"  # log-ins whose caller did not say where they came from (the suite's own tools)
MAX_SOURCE_LENGTH = 64  # an IPv6 address with a zone fits


@dataclass
class LoginThrottle:
    """Failed log-ins of one account from one source (the client's address). Too many within the window close
    that door for a while, and only that one: an attacker who locks an account from their addresses does not
    lock its holder out of theirs (NIST SP 800-63B 5.2.2, limiting failed attempts without a denial of service).
    While closed, even the right password answers as a wrong one, so a lock tells nobody anything."""

    account_id: str
    source: str
    failed_attempts: int = 0
    first_failure_at: datetime | None = None
    locked_until: datetime | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def record_failure(self, now: datetime, policy: LockoutPolicy) -> None:
        if self.first_failure_at is None or now - self.first_failure_at > policy.window:
            self.first_failure_at, self.failed_attempts = now, 0
        self.failed_attempts += 1
        if self.failed_attempts >= policy.max_failures:
            self.locked_until = now + policy.lock_for
            self.failed_attempts, self.first_failure_at = 0, None


def scope_for(role: str, org_path: str | None) -> str:
    """The part of the tree an account acts in: a district admin everything, every other role its node."""
    if role == "district_admin":
        return "/"
    return org_path or ""


@dataclass
class RefreshToken:
    id: str
    account_id: str
    family_id: str
    token_hash: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    replaced_by: str | None = None

    def check_usable(self, now: datetime) -> None:
        """Raise unless this token may be exchanged now. A rotated or revoked token is reuse."""
        if self.revoked_at is not None or self.replaced_by is not None:
            raise TokenReused("this refresh token was already used or revoked")
        if now >= self.expires_at:
            raise RefreshInvalid("the refresh token has expired")


class TokenReused(RefreshInvalid):
    """A token presented after rotation: someone else may hold it, so its whole family is revoked."""


MIN_PASSWORD_LENGTH = 10


MAX_PASSWORD_LENGTH = 256


USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


# role -> the levels of node an account of that role belongs to
ROLE_LEVELS: dict[str, frozenset[str]] = {
    "district_admin": frozenset({"district"}),
    "street_secretary": frozenset({"street"}),
    "community_secretary": frozenset({"community"}),
    "branch_secretary": frozenset({"branch"}),
    "department": frozenset({"department"}),
    "member": frozenset({"branch", "community"}),
    "resident": frozenset({"community"}),
}


# administrator's role -> the roles of the accounts they may create and manage (inside their scope). An account
# manages only accounts of lower rank in its subtree: a street secretary never a peer (the street's official
# secretary included) nor a department desk, a district admin never another district admin (the suite's own
# loader, `system`, makes those). Managing includes resetting a password, which is taking the account over.
MANAGES: dict[str, frozenset[str]] = {
    "system": frozenset(ROLE_LEVELS),
    "district_admin": frozenset(ROLE_LEVELS) - {"district_admin"},
    "street_secretary": frozenset({"community_secretary", "branch_secretary", "member", "resident"}),
}


class AccountAdminError(OrgError):
    code = "ACCOUNT_INVALID"


class RoleNotGrantable(AccountAdminError):
    kind = "forbidden"
    code = "ACCOUNT_ROLE_FORBIDDEN"


class WrongNodeForRole(AccountAdminError):
    code = "ACCOUNT_NODE_NOT_ALLOWED"


class MemberIdRequired(AccountAdminError):
    code = "ACCOUNT_MEMBER_ID_REQUIRED"


class MemberNotLinkable(AccountAdminError):
    code = "ACCOUNT_MEMBER_NOT_LINKABLE"


class PasswordTooWeak(AccountAdminError):
    code = "PASSWORD_TOO_WEAK"


class UsernameTaken(AccountAdminError):
    kind = "conflict"
    code = "ACCOUNT_USERNAME_TAKEN"


class CannotDisableSelf(AccountAdminError):
    code = "ACCOUNT_CANNOT_DISABLE_SELF"


def check_may_manage(admin_role: str, target_role: str) -> None:
    """403 for a kind of account the administrator's role may never create or manage."""
    if target_role not in MANAGES.get(admin_role, frozenset()):
        raise RoleNotGrantable(f"a {admin_role} may not manage {target_role} accounts")


def check_node_for_role(role: str, level: str, member_id: str | None) -> None:
    allowed = ROLE_LEVELS[role]
    if level not in allowed:
        raise WrongNodeForRole(
            f"a {role} account belongs to a {' or '.join(sorted(allowed))} node, not a {level}",
            {"org_id": [f"a {' or '.join(sorted(allowed))} node"]},
        )
    if role == "member" and not member_id:
        raise MemberIdRequired("a member account is linked to its member", {"member_id": ["required for a member"]})


def check_member_link(node_path: str, member: Member | None) -> None:
    """An account that acts as a member (`member_id`) names a current member the administrator can see, and
    sits on that member's branch or a node above it: otherwise its holder would read another's record."""
    if member is None:
        raise MemberNotLinkable("no member with this id in your scope", {"member_id": ["not found"]})
    if member.status != "active":
        raise MemberNotLinkable("the member has left", {"member_id": ["has left"]})
    if not member.org_path.startswith(node_path):
        raise MemberNotLinkable(
            "the account's node is not the member's branch or above it", {"org_id": ["the member's branch or above"]}
        )


def check_password(password: str) -> None:
    errors = []
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        errors.append(f"at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip() != password or not password.strip():
        errors.append("no leading or trailing spaces")
    if errors:
        raise PasswordTooWeak("the password does not meet the policy", {"password": errors})
