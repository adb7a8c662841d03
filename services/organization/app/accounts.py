"""Use cases of accounts and sessions: log in, refresh and revoke sessions, the gateway's account-state check,
and administration (a district admin manages every account, a street secretary those of their street, never a
district admin's): create, read, list, disable, enable, reset a password.

Disabling is one function for every path that does it (an admin's decision, a member leaving): the account stops
logging in, every refresh token it holds is revoked, and `account.disabled` tells the suite. The gateway re-reads
account state within ACCOUNT_STATE_TTL seconds, so live access tokens stop too.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Any

from kit.clock import isoformat_z
from kit.context import CallerContext
from kit.events import Event
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from organization.adapters.passwords import hash_password, verify_password
from organization.adapters.repositories.accounts import AccountAdminRepository, AccountRepository
from organization.adapters.repositories.members import MemberRepository, Visibility
from organization.adapters.repositories.tree import OrgRepository
from organization.domain.accounts import (
    ACCESS_TOKEN_MAX_LIFETIME,
    UNKNOWN_SOURCE,
    Account,
    CannotDisableSelf,
    LockoutPolicy,
    RefreshToken,
    SessionPolicy,
    TokenReused,
    UsernameTaken,
    check_may_manage,
    check_member_link,
    check_node_for_role,
    check_password,
    scope_for,
)
from organization.domain.errors import (
    AccountNotFound,
    InvalidCredentials,
    OrgNotFound,
    RefreshInvalid,
)
from organization.domain.tree import (
    Level,
)


# -- accounts and sessions ------------------------------------------------------------------------------
def account_read(account: Account, org_path: str | None) -> dict[str, Any]:
    return {
        "account_id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "org_id": account.org_id,
        "scope_path": scope_for(account.role, org_path),
        "department_code": account.department_code,
        "member_id": account.member_id,
        "status": account.status,
    }


def add_account(
    uow: UnitOfWork,
    *,
    username: str,
    password: str,
    display_name: str,
    role: str,
    org_id: str | None,
    department_code: str | None = None,
    member_id: str | None = None,
    password_hash: str | None = None,
) -> dict[str, Any]:
    accounts = AccountRepository(uow.session)
    account = Account(
        id=str(uuid.uuid4()),
        username=username,
        display_name=display_name,
        role=role,
        org_id=org_id,
        department_code=department_code,
        member_id=member_id,
    )
    accounts.add(account, password_hash or hash_password(password), uow.clock.now())
    uow.audit("account.create", "account", account.id, {"username": username, "role": role, "org_id": org_id})
    return account_read(account, accounts.org_path(org_id))


def authenticate(
    uow: UnitOfWork,
    username: str,
    password: str,
    lockout: LockoutPolicy,
    sessions: SessionPolicy,
    source: str = UNKNOWN_SOURCE,
) -> dict[str, Any]:
    """Check a password from `source` (the client's address). Every failure answers the same, whatever the
    reason (no such user, wrong password, too many failures from this source), until the password is right;
    only then may the caller learn that the account is disabled. Failures are committed though the call fails."""
    accounts = AccountRepository(uow.session)
    found = accounts.by_username(username)
    now = uow.clock.now()
    if found is None:
        verify_password(None, password)  # same cost as a wrong password: no username probing by timing
        raise InvalidCredentials("wrong username or password")
    account, password_hash = found
    throttle = accounts.throttle(account.id, source)
    locked = throttle.locked(now)
    right = verify_password(password_hash, password)  # checked even while locked: the same cost either way
    if locked or not right:
        if not locked:
            throttle.record_failure(now, lockout)
            accounts.save_throttle(throttle)
        audit = {"source": source, "locked": throttle.locked(now)}
        uow.audit("account.login_failed", "account", account.id, audit)
        uow.commit()
        raise InvalidCredentials("wrong username or password")
    account.check_can_log_in()
    accounts.clear_throttles(account.id, source)
    token, refresh = _new_refresh_token(account.id, str(uuid.uuid4()), now, sessions)
    accounts.add_token(refresh)
    return _session(account, accounts, token, refresh)


def refresh_session(uow: UnitOfWork, token: str, sessions: SessionPolicy) -> dict[str, Any]:
    accounts = AccountRepository(uow.session)
    now = uow.clock.now()
    current = accounts.token_by_hash(_hash_token(token))
    if current is None:
        raise RefreshInvalid("unknown refresh token")
    try:
        current.check_usable(now)
    except TokenReused:
        accounts.revoke_family(current.family_id, now)
        uow.audit("session.reuse_detected", "account", current.account_id, {"family_id": current.family_id})
        uow.commit()
        raise
    account = accounts.get(current.account_id)
    if account is None:
        raise RefreshInvalid("unknown refresh token")
    account.check_can_log_in()
    new_token, refresh = _new_refresh_token(account.id, current.family_id, now, sessions)
    accounts.add_token(refresh)
    accounts.mark_replaced(current.id, refresh.id)
    return _session(account, accounts, new_token, refresh)


def revoke_session(uow: UnitOfWork, token: str) -> dict[str, Any]:
    accounts = AccountRepository(uow.session)
    current = accounts.token_by_hash(_hash_token(token))
    if current is not None:
        accounts.revoke_family(current.family_id, uow.clock.now())
    return {"revoked": True}


def account_state(uow: UnitOfWork, account_id: str) -> dict[str, Any]:
    accounts = AccountRepository(uow.session)
    account = accounts.get(account_id) if is_uuid(account_id) else None
    if account is None:
        raise AccountNotFound("account not found")
    ended = accounts.ended_sessions(account.id, since=uow.clock.now() - ACCESS_TOKEN_MAX_LIFETIME)
    return account_read(account, accounts.org_path(account.org_id)) | {"ended_sessions": ended}


def _session(account: Account, accounts: AccountRepository, token: str, refresh: RefreshToken) -> dict[str, Any]:
    return {
        "account": account_read(account, accounts.org_path(account.org_id)),
        "refresh_token": token,
        "refresh_expires_at": isoformat_z(refresh.expires_at),
        # the refresh family: the gateway writes it into the access token (`sid`) so ending it ends them too
        "session_id": refresh.family_id,
    }


def _new_refresh_token(
    account_id: str, family_id: str, now: datetime, sessions: SessionPolicy
) -> tuple[str, RefreshToken]:
    token = secrets.token_urlsafe(32)
    return token, RefreshToken(
        id=str(uuid.uuid4()),
        account_id=account_id,
        family_id=family_id,
        token_hash=_hash_token(token),
        issued_at=now,
        expires_at=now + sessions.refresh_ttl,
    )


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def disable_account(uow: UnitOfWork, account: Account, reason: str) -> bool:
    """Disable `account` inside the caller's unit of work; False (and nothing recorded) if it already was."""
    if not account.disable():
        return False
    accounts = AccountRepository(uow.session)
    now = uow.clock.now()
    accounts.save_status(account)
    revoked = accounts.revoke_all_tokens(account.id, now)
    org_path, street = accounts.placement(account.org_id)
    data = {
        "account_id": account.id,
        "username": account.username,
        "role": account.role,
        "org_id": account.org_id,
        "member_id": account.member_id,
        "reason": reason,
        "revoked_refresh_tokens": revoked,
    }
    uow.add_event(
        Event(
            type="account.disabled",
            subject=account.id,
            data=data,
            street_codes=(street,),
            org_path=org_path,
            time=now,
        )
    )
    uow.audit("account.disable", "account", account.id, {"reason": reason})
    return True


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
        accounts = AccountRepository(uow.session)
        accounts.save_status(account)
        accounts.clear_throttles(account.id)  # a fresh start: no lockout carried over
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
    accounts.clear_throttles(account.id)
    revoked = accounts.revoke_all_tokens(account.id, uow.clock.now())
    uow.audit("account.reset_password", "account", account.id, {"revoked_refresh_tokens": revoked})
    return account_read(account, path)
