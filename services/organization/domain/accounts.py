"""Accounts and their sessions: lockout after repeated failures, refresh tokens rotated on every use with
reuse detection (a rotated token presented again revokes its whole family)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from organization.domain.errors import AccountDisabled, AccountLocked, RefreshInvalid


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SessionPolicy:
    refresh_ttl: timedelta = timedelta(days=14)


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
    failed_attempts: int = 0
    first_failure_at: datetime | None = None
    locked_until: datetime | None = None

    def check_can_log_in(self, now: datetime) -> None:
        if self.status != "active":
            raise AccountDisabled("this account is disabled")
        if self.locked_until is not None and now < self.locked_until:
            raise AccountLocked("too many failed attempts: the account is locked for a while")

    def record_failure(self, now: datetime, policy: LockoutPolicy) -> None:
        if self.first_failure_at is None or now - self.first_failure_at > policy.window:
            self.first_failure_at, self.failed_attempts = now, 0
        self.failed_attempts += 1
        if self.failed_attempts >= policy.max_failures:
            self.locked_until = now + policy.lock_for
            self.failed_attempts, self.first_failure_at = 0, None

    def record_success(self) -> None:
        self.failed_attempts, self.first_failure_at, self.locked_until = 0, None, None

    def disable(self) -> bool:
        """Stop this account from logging in or refreshing; False when it already was disabled."""
        if self.status == "disabled":
            return False
        self.status = "disabled"
        return True


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
