"""Use cases of account administration: a district admin manages every account, a street secretary those of
their street (never a district admin's); create, read, list, disable, enable, reset a password."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from kit.context import CallerContext
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from organization.account_lifecycle import disable_account
from organization.adapters.member_repository import MemberRepository, Visibility
from organization.adapters.passwords import hash_password
from organization.adapters.repository import AccountRepository, OrgRepository
from organization.adapters.repository_lists import AccountAdminRepository
from organization.domain.account_admin import (
    CannotDisableSelf,
    UsernameTaken,
    check_may_manage,
    check_member_link,
    check_node_for_role,
    check_password,
)
from organization.domain.accounts import Account
from organization.domain.errors import AccountNotFound, OrgNotFound
from organization.domain.tree import Level
from organization.handlers import account_read


def _password(data: dict[str, Any], issued: list[str]) -> str:
    """The password asked for (checked against the policy), or a temporary one appended to `issued`."""
    password = data.get("password")
    if password is not None:
        check_password(password)
        return str(password)
    temporary = temporary_password()
    issued.append(temporary)
    return temporary


def temporary_password() -> str:
    """A one-time password that meets the policy: 16 URL-safe characters (about 96 bits)."""
    return secrets.token_urlsafe(12)


def _load(uow: UnitOfWork, ctx: CallerContext, account_id: str) -> tuple[Account, str]:
    found = AccountAdminRepository(uow.session).get(account_id, ctx.scope_path) if is_uuid(account_id) else None
    if found is None:
        raise AccountNotFound("account not found")
    return found


def _managed(uow: UnitOfWork, ctx: CallerContext, account_id: str) -> tuple[Account, str]:
    account, path = _load(uow, ctx, account_id)
    check_may_manage(ctx.role, account.role)
    return account, path


def create_account(uow: UnitOfWork, ctx: CallerContext, data: dict[str, Any], issued: list[str]) -> dict[str, Any]:
    """Create an account; a password the service made is appended to `issued` (shown once, never stored)."""
    check_may_manage(ctx.role, data["role"])
    orgs = OrgRepository(uow.session)
    node = orgs.get(str(data["org_id"]), ctx.scope_path)
    if node is None:
        raise OrgNotFound("organisation not found")
    check_node_for_role(data["role"], str(node.level), data.get("member_id"))
    password = _password(data, issued)
    if data.get("member_id") is not None:
        member_id, members = str(data["member_id"]), MemberRepository(uow.session)
        member = members.get(member_id, Visibility(ctx.scope_path)) if is_uuid(member_id) else None
        check_member_link(node.org_path, member)
    if AccountAdminRepository(uow.session).username_taken(data["username"]):
        raise UsernameTaken(f"the username {data['username']!r} is taken", {"username": ["taken"]})
    account = Account(
        id=str(uuid.uuid4()),
        username=data["username"],
        display_name=data["display_name"],
        role=data["role"],
        org_id=node.id,
        department_code=node.code if node.level is Level.DEPARTMENT else None,
        member_id=data.get("member_id"),
    )
    AccountRepository(uow.session).add(account, hash_password(password), uow.clock.now())
    uow.audit(
        "account.create", "account", account.id, {"username": account.username, "role": account.role, "org_id": node.id}
    )
    return account_read(account, node.org_path)


def get_account(uow: UnitOfWork, ctx: CallerContext, account_id: str) -> dict[str, Any]:
    account, path = _load(uow, ctx, account_id)
    return account_read(account, path)


def list_accounts(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    rows, cursor = AccountAdminRepository(uow.session).search(
        ctx.scope_path,
        query,
        sort=query.get("sort", "username"),
        limit=query.get("limit", 50),
        cursor=query.get("cursor"),
    )
    return {"items": [account_read(a, path) for a, path in rows], "next_cursor": cursor}


def disable(uow: UnitOfWork, ctx: CallerContext, account_id: str, data: dict[str, Any]) -> dict[str, Any]:
    account, path = _managed(uow, ctx, account_id)
    if account.id == ctx.account_id:
        raise CannotDisableSelf("you cannot disable your own account")
    disable_account(uow, account, data["reason"])
    return account_read(account, path)


def enable(uow: UnitOfWork, ctx: CallerContext, account_id: str) -> dict[str, Any]:
    account, path = _managed(uow, ctx, account_id)
    if account.status != "active":
        account.status = "active"
        account.record_success()  # a fresh start: no lockout carried over
        accounts = AccountRepository(uow.session)
        accounts.save_status(account)
        accounts.save_login_state(account)
        uow.audit("account.enable", "account", account.id, {})
    return account_read(account, path)


def reset_password(
    uow: UnitOfWork, ctx: CallerContext, account_id: str, data: dict[str, Any], issued: list[str]
) -> dict[str, Any]:
    """Set the given password or a temporary one (appended to `issued`); every session of the account ends."""
    account, path = _managed(uow, ctx, account_id)
    password = _password(data, issued)
    accounts = AccountRepository(uow.session)
    accounts.set_password_hash(account.id, hash_password(password))
    account.record_success()
    accounts.save_login_state(account)
    revoked = accounts.revoke_all_tokens(account.id, uow.clock.now())
    uow.audit("account.reset_password", "account", account.id, {"revoked_refresh_tokens": revoked})
    return account_read(account, path)
