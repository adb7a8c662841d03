"""Repositories of accounts: log-in state and refresh tokens, and the scoped reads of account administration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kit.config import DISTRICT
from kit.orm import under
from kit.pagination import Order, page
from organization.adapters.orm.accounts import AccountRow, LoginThrottleRow, RefreshTokenRow
from organization.adapters.orm.tree import OrgRow
from organization.domain.accounts import Account, LoginThrottle, RefreshToken

ACCOUNT_SORTS: dict[str, Order] = {
    "username": [(AccountRow.username, False), (AccountRow.id, False)],
    "-username": [(AccountRow.username, True), (AccountRow.id, True)],
}


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_username(self, username: str) -> tuple[Account, str] | None:
        """The account and its password hash."""
        row = self.session.scalar(select(AccountRow).where(AccountRow.username == username))
        return (to_account(row), row.password_hash) if row is not None else None

    def get(self, account_id: str) -> Account | None:
        row = self.session.get(AccountRow, account_id)
        return to_account(row) if row is not None else None

    def org_path(self, org_id: str | None) -> str | None:
        if org_id is None:
            return None
        return self.session.scalar(select(OrgRow.org_path).where(OrgRow.id == org_id))

    def placement(self, org_id: str | None) -> tuple[str, str]:
        """(org_path, street_code) of the account's node; district-wide when it has none."""
        row = self.session.execute(select(OrgRow.org_path, OrgRow.street_code).where(OrgRow.id == org_id)).first()
        return (row[0], row[1]) if row is not None else ("/", DISTRICT)

    def add(self, account: Account, password_hash: str, now: Any) -> None:
        self.session.add(
            AccountRow(
                id=account.id,
                username=account.username,
                display_name=account.display_name,
                password_hash=password_hash,
                role=account.role,
                org_id=account.org_id,
                department_code=account.department_code,
                member_id=account.member_id,
                status=account.status,
                created_at=now,
            )
        )

    def throttle(self, account_id: str, source: str) -> LoginThrottle:
        row = self.session.get(LoginThrottleRow, (account_id, source))
        if row is None:
            return LoginThrottle(account_id=account_id, source=source)
        return LoginThrottle(
            account_id=account_id,
            source=source,
            failed_attempts=row.failed_attempts,
            first_failure_at=row.first_failure_at,
            locked_until=row.locked_until,
        )

    def save_throttle(self, throttle: LoginThrottle) -> None:
        self.session.merge(
            LoginThrottleRow(
                account_id=throttle.account_id,
                source=throttle.source,
                failed_attempts=throttle.failed_attempts,
                first_failure_at=throttle.first_failure_at,
                locked_until=throttle.locked_until,
            )
        )

    def clear_throttles(self, account_id: str, source: str | None = None) -> None:
        """Forget failed log-ins of the account: from one source (it logged in), or all (enabled, reset)."""
        query = delete(LoginThrottleRow).where(LoginThrottleRow.account_id == account_id)
        self.session.execute(query if source is None else query.where(LoginThrottleRow.source == source))

    def save_status(self, account: Account) -> None:
        row = self.session.get(AccountRow, account.id)
        assert row is not None
        row.status = account.status

    def for_member(self, member_id: str) -> list[Account]:
        rows = self.session.scalars(select(AccountRow).where(AccountRow.member_id == member_id))
        return [to_account(row) for row in rows]

    def revoke_all_tokens(self, account_id: str, now: Any) -> int:
        """Revoke every live refresh token of the account; how many."""
        result = self.session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.account_id == account_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def ended_sessions(self, account_id: str, since: Any) -> list[str]:
        """The refresh families (sessions) of the account revoked since `since`: logged out, reused, reset."""
        query = (
            select(RefreshTokenRow.family_id)
            .where(RefreshTokenRow.account_id == account_id, RefreshTokenRow.revoked_at >= since)
            .distinct()
            .order_by(RefreshTokenRow.family_id)
        )
        return list(self.session.scalars(query))

    def set_password_hash(self, account_id: str, password_hash: str) -> None:
        row = self.session.get(AccountRow, account_id)
        assert row is not None
        row.password_hash = password_hash

    def exists(self, usernames: Sequence[str]) -> set[str]:
        return set(self.session.scalars(select(AccountRow.username).where(AccountRow.username.in_(usernames))))

    # -- refresh tokens -------------------------------------------------------------------------------
    def token_by_hash(self, token_hash: str) -> RefreshToken | None:
        row = self.session.scalar(select(RefreshTokenRow).where(RefreshTokenRow.token_hash == token_hash))
        if row is None:
            return None
        return RefreshToken(
            id=row.id,
            account_id=row.account_id,
            family_id=row.family_id,
            token_hash=row.token_hash,
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            replaced_by=row.replaced_by,
        )

    def add_token(self, token: RefreshToken) -> None:
        self.session.add(
            RefreshTokenRow(
                id=token.id,
                account_id=token.account_id,
                family_id=token.family_id,
                token_hash=token.token_hash,
                issued_at=token.issued_at,
                expires_at=token.expires_at,
            )
        )

    def mark_replaced(self, token_id: str, replaced_by: str) -> None:
        self.session.execute(
            update(RefreshTokenRow).where(RefreshTokenRow.id == token_id).values(replaced_by=replaced_by)
        )

    def revoke_family(self, family_id: str, now: Any) -> None:
        self.session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.family_id == family_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def to_account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        org_id=row.org_id,
        status=row.status,
        department_code=row.department_code,
        member_id=row.member_id,
    )


class AccountAdminRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, account_id: str, scope: str) -> tuple[Account, str] | None:
        """The account and its node's path, when the node lies in `scope`."""
        row = self.session.execute(
            select(AccountRow, OrgRow.org_path)
            .join(OrgRow, OrgRow.id == AccountRow.org_id)
            .where(AccountRow.id == account_id, under(OrgRow.org_path, scope))
        ).first()
        return (to_account(row[0]), row[1]) if row is not None else None

    def search(
        self, scope: str, filters: dict[str, Any], *, sort: str, limit: int, cursor: str | None
    ) -> tuple[list[tuple[Account, str]], str | None]:
        query = select(AccountRow).join(OrgRow, OrgRow.id == AccountRow.org_id).where(under(OrgRow.org_path, scope))
        for name in ("role", "status", "org_id"):
            if filters.get(name):
                query = query.where(getattr(AccountRow, name) == str(filters[name]))
        if filters.get("q"):
            query = query.where(AccountRow.username.contains(filters["q"], autoescape=True))
        rows, next_cursor = page(self.session, query, ACCOUNT_SORTS[sort], limit=limit, cursor=cursor)
        ids = {r.org_id for r in rows if r.org_id}
        found = self.session.execute(select(OrgRow.id, OrgRow.org_path).where(OrgRow.id.in_(ids)))
        paths = {row.id: row.org_path for row in found}
        return [(to_account(r), paths.get(r.org_id or "", "")) for r in rows], next_cursor

    def username_taken(self, username: str) -> bool:
        return bool(self.session.scalar(select(func.count()).where(AccountRow.username == username)))

    def secretary_of(self, org_id: str, roles: Sequence[str]) -> str | None:
        """The first active account of a node holding one of `roles`, by username."""
        return self.session.scalar(
            select(AccountRow.id)
            .where(AccountRow.org_id == org_id, AccountRow.status == "active", AccountRow.role.in_(roles))
            .order_by(AccountRow.username)
            .limit(1)
        )

    def account_in_node(self, account_id: str, org_id: str, roles: Sequence[str]) -> bool:
        """Whether the account sits on the node and holds one of `roles`."""
        query = select(AccountRow.id).where(
            AccountRow.id == account_id, AccountRow.org_id == org_id, AccountRow.role.in_(roles)
        )
        return self.session.scalar(query) is not None
