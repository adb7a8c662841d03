"""Repositories: load and save the domain's nodes and accounts. Every read takes the caller's scope, so a
node outside it is simply not found (object-level scope lives in the queries)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kit.config import DISTRICT
from kit.pagination import Order, page
from organization.adapters.orm import AccountRow, OrgRow, RefreshTokenRow
from organization.domain.accounts import Account, RefreshToken
from organization.domain.tree import Level, MovePlan, OrgNode

SORTS: dict[str, Order] = {
    "code": [(OrgRow.org_path, False), (OrgRow.id, False)],
    "-code": [(OrgRow.org_path, True), (OrgRow.id, True)],
    "name": [(OrgRow.name, False), (OrgRow.id, False)],
    "-name": [(OrgRow.name, True), (OrgRow.id, True)],
    "created_at": [(OrgRow.created_at, False), (OrgRow.id, False)],
    "-created_at": [(OrgRow.created_at, True), (OrgRow.id, True)],
}

_NODE_FIELDS = (
    "id",
    "code",
    "name",
    "parent_id",
    "org_path",
    "street_code",
    "status",
    "version",
    "created_at",
    "location",
    "brand",
    "closed_at",
)


def to_node(row: OrgRow) -> OrgNode:
    return OrgNode(level=Level(row.level), **{name: getattr(row, name) for name in _NODE_FIELDS})


def node_row(node: OrgNode) -> dict[str, Any]:
    """A node's `org_nodes` row as column values, for bulk inserts (kit.bulk.insert_many)."""
    return {"level": str(node.level), "depth": node.depth, **{name: getattr(node, name) for name in _NODE_FIELDS}}


def in_scope(scope: str) -> Any:
    return OrgRow.org_path.startswith(scope, autoescape=True)


class OrgRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, org_id: str, scope: str, *, for_update: bool = False) -> OrgNode | None:
        query = select(OrgRow).where(OrgRow.id == org_id, in_scope(scope))
        if for_update:
            query = query.with_for_update()
        row = self.session.scalar(query)
        return to_node(row) if row is not None else None

    def get_by_path(self, org_path: str) -> OrgNode | None:
        row = self.session.scalar(select(OrgRow).where(OrgRow.org_path == org_path))
        return to_node(row) if row is not None else None

    def root(self, code: str) -> OrgNode | None:
        return self.get_by_path(f"/{code}/")

    def sibling_codes(self, parent_id: str) -> set[str]:
        return set(self.session.scalars(select(OrgRow.code).where(OrgRow.parent_id == parent_id)))

    def add(self, node: OrgNode) -> None:
        self.session.add(
            OrgRow(level=str(node.level), depth=node.depth, **{name: getattr(node, name) for name in _NODE_FIELDS})
        )
        self.session.flush()  # rows that refer to it (children, accounts) may follow in this transaction

    def save(self, node: OrgNode) -> None:
        """Write back a changed node; the row's version must still be the one the node was loaded at."""
        row = self.session.get(OrgRow, node.id)
        assert row is not None
        row.version = node.version  # the mapper's version column makes the UPDATE fail if someone else won
        for name in ("name", "status", "closed_at", "parent_id", "org_path", "street_code", "location", "brand"):
            setattr(row, name, getattr(node, name))
        row.depth = node.depth
        self.session.flush()

    def move_descendants(self, plan: MovePlan) -> int:
        """Rewrite the paths (and street, depth) of every node strictly below the moved node; how many."""
        below = OrgRow.org_path.startswith(plan.old_path, autoescape=True) & (OrgRow.org_path != plan.old_path)
        values: dict[str, Any] = {
            "org_path": plan.new_path + func.substr(OrgRow.org_path, len(plan.old_path) + 1),
            "depth": OrgRow.depth + plan.depth_delta,
        }
        if plan.new_street_code != plan.old_street_code:
            values["street_code"] = plan.new_street_code
        result = self.session.execute(
            update(OrgRow).where(below).values(**values), execution_options={"synchronize_session": False}
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def active_children(self, org_id: str) -> int:
        return int(
            self.session.scalar(
                select(func.count()).select_from(OrgRow).where(OrgRow.parent_id == org_id, OrgRow.status == "active")
            )
            or 0
        )

    # -- reads ------------------------------------------------------------------------------------------
    def search(
        self, scope: str, filters: dict[str, Any], *, sort: str, limit: int, cursor: str | None
    ) -> tuple[list[OrgNode], str | None]:
        query = select(OrgRow).where(in_scope(scope))
        for name in ("level", "street_code", "status"):
            if filters.get(name):
                query = query.where(getattr(OrgRow, name) == filters[name])
        if filters.get("q"):
            query = query.where(OrgRow.name.contains(filters["q"], autoescape=True))
        if filters.get("parent_id"):
            query = query.where(OrgRow.parent_id == filters["parent_id"])
        rows, next_cursor = page(self.session, query, SORTS[sort], limit=limit, cursor=cursor)
        return [to_node(r) for r in rows], next_cursor

    def subtree(self, node: OrgNode, depth: int, scope: str) -> list[OrgNode]:
        rows = self.session.scalars(
            select(OrgRow)
            .where(
                OrgRow.org_path.startswith(node.org_path, autoescape=True),
                in_scope(scope),
                OrgRow.depth <= node.depth + depth,
            )
            .order_by(OrgRow.org_path)
        )
        return [to_node(r) for r in rows]

    def ancestors(self, node: OrgNode, scope: str) -> list[OrgNode]:
        parts = node.org_path.strip("/").split("/")
        paths = ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]
        if not paths:
            return []
        rows = self.session.scalars(
            select(OrgRow).where(OrgRow.org_path.in_(paths), in_scope(scope)).order_by(OrgRow.depth)
        )
        return [to_node(r) for r in rows]

    def count_levels(self, node: OrgNode, scope: str) -> dict[str, int]:
        rows = self.session.execute(
            select(OrgRow.level, func.count())
            .where(
                OrgRow.org_path.startswith(node.org_path, autoescape=True), in_scope(scope), OrgRow.status == "active"
            )
            .group_by(OrgRow.level)
        )
        return {level: int(n) for level, n in rows}


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_username(self, username: str) -> tuple[Account, str] | None:
        """The account and its password hash."""
        row = self.session.scalar(select(AccountRow).where(AccountRow.username == username))
        return (_account(row), row.password_hash) if row is not None else None

    def get(self, account_id: str) -> Account | None:
        row = self.session.get(AccountRow, account_id)
        return _account(row) if row is not None else None

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
                failed_attempts=0,
                created_at=now,
            )
        )

    def save_login_state(self, account: Account) -> None:
        row = self.session.get(AccountRow, account.id)
        assert row is not None
        row.failed_attempts = account.failed_attempts
        row.first_failure_at = account.first_failure_at
        row.locked_until = account.locked_until

    def save_status(self, account: Account) -> None:
        row = self.session.get(AccountRow, account.id)
        assert row is not None
        row.status = account.status

    def for_member(self, member_id: str) -> list[Account]:
        rows = self.session.scalars(select(AccountRow).where(AccountRow.member_id == member_id))
        return [_account(row) for row in rows]

    def revoke_all_tokens(self, account_id: str, now: Any) -> int:
        """Revoke every live refresh token of the account; how many."""
        result = self.session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.account_id == account_id, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

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


def _account(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        org_id=row.org_id,
        status=row.status,
        department_code=row.department_code,
        member_id=row.member_id,
        failed_attempts=row.failed_attempts,
        first_failure_at=row.first_failure_at,
        locked_until=row.locked_until,
    )
