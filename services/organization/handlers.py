"""Use cases of the organization service: plain functions taking the caller, a unit of work and the input.

They load aggregates through repositories scoped to the caller, let the domain decide, save, and hand the
recorded events to the unit of work; the entrypoint commits (through the kit) before it replies.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from kit.clock import isoformat_z
from kit.context import CallerContext
from kit.events import Event
from kit.ids import is_uuid
from kit.uow import UnitOfWork
from organization.adapters.engagement_repository import follow_move
from organization.adapters.passwords import hash_password, verify_password
from organization.adapters.repository import AccountRepository, OrgRepository
from organization.domain.accounts import (
    Account,
    LockoutPolicy,
    RefreshToken,
    SessionPolicy,
    TokenReused,
    scope_for,
)
from organization.domain.errors import (
    AccountNotFound,
    InvalidCredentials,
    OrgNotFound,
    RefreshInvalid,
    RootExists,
    StaleVersion,
)
from organization.domain.tree import (
    Level,
    OrgClosed,
    OrgCreated,
    OrgEvent,
    OrgMoved,
    OrgNode,
    OrgRenamed,
    check_may_change,
    check_may_create,
)


# -- wire shapes ---------------------------------------------------------------------------------------
def org_read(node: OrgNode) -> dict[str, Any]:
    return {
        "id": node.id,
        "code": node.code,
        "name": node.name,
        "level": str(node.level),
        "parent_id": node.parent_id,
        "org_path": node.org_path,
        "street_code": node.street_code,
        "location": node.location,
        "brand": node.brand,
        "status": node.status,
        "version": node.version,
        "created_at": isoformat_z(node.created_at),
        "closed_at": isoformat_z(node.closed_at) if node.closed_at else None,
    }


def to_message(event: OrgEvent, now: datetime) -> Event:
    node = event.node
    streets: tuple[str, ...] = (node.street_code,)
    match event:
        case OrgCreated():
            kind = "org.created"
            data = {
                k: v
                for k, v in org_read(node).items()
                if k in ("id", "code", "name", "level", "parent_id", "org_path", "street_code", "location", "brand")
            }
            when = node.created_at
        case OrgRenamed(old_name=old_name):
            kind, when = "org.renamed", now
            data = {"id": node.id, "name": node.name, "old_name": old_name, "org_path": node.org_path}
        case OrgMoved():
            kind, when = "org.moved", now
            data = {
                "id": node.id,
                "old_parent_id": event.old_parent_id,
                "new_parent_id": node.parent_id,
                "old_path": event.old_path,
                "new_path": node.org_path,
                "old_street_code": event.old_street_code,
                "new_street_code": node.street_code,
                "moved_nodes": event.moved_nodes,
            }
            # A subtree moved between streets concerns both: published once for each, with one id.
            streets = tuple(dict.fromkeys((event.old_street_code, node.street_code)))
        case OrgClosed():
            kind, when = "org.closed", node.closed_at or now
            data = {"id": node.id, "org_path": node.org_path, "street_code": node.street_code}
    return Event(type=kind, subject=node.id, data=data, street_codes=streets, org_path=node.org_path, time=when)


def _publish(uow: UnitOfWork, node: OrgNode, action: str) -> None:
    now = uow.clock.now()
    for event in node.events:
        message = to_message(event, now)
        uow.add_event(message)
        uow.audit(action, "org", node.id, message.data)
    node.events.clear()


# -- tree ----------------------------------------------------------------------------------------------
def _load(repo: OrgRepository, ctx: CallerContext, org_id: str, *, for_update: bool = False) -> OrgNode:
    node = repo.get(org_id, ctx.scope_path, for_update=for_update) if is_uuid(org_id) else None
    if node is None:
        raise OrgNotFound("organisation not found")
    return node


def create_root(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    level: Level,
    node_id: str | None = None,
    location: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    if repo.root(code) is not None:
        raise RootExists(f"a root with code {code!r} exists")
    node = OrgNode.root(
        id=node_id or str(uuid.uuid4()),
        code=code,
        name=name,
        level=level,
        now=created_at or uow.clock.now(),
        location=location,
    )
    repo.add(node)
    _publish(uow, node, "org.create")
    return org_read(node)


def create_org(
    uow: UnitOfWork,
    ctx: CallerContext,
    payload: dict[str, Any],
    *,
    node_id: str | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    level = Level(payload["level"])
    check_may_create(ctx.role, level)
    parent = _load(repo, ctx, str(payload["parent_id"]), for_update=True)
    node = OrgNode.create(
        id=node_id or str(uuid.uuid4()),
        parent=parent,
        code=payload["code"],
        name=payload["name"],
        level=level,
        now=created_at or uow.clock.now(),
        sibling_codes=repo.sibling_codes(parent.id),
        location=payload.get("location"),
        brand=payload.get("brand"),
    )
    repo.add(node)
    _publish(uow, node, "org.create")
    return org_read(node)


def rename_org(uow: UnitOfWork, ctx: CallerContext, org_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id)
    check_may_change(ctx.role, node.level)
    node.rename(payload["name"], expected_version=payload["version"])
    _save(repo, node)
    _publish(uow, node, "org.rename")
    return org_read(node)


def move_org(uow: UnitOfWork, ctx: CallerContext, org_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id, for_update=True)
    check_may_change(ctx.role, node.level)
    new_parent = _load(repo, ctx, str(payload["new_parent_id"]), for_update=True)
    plan = node.plan_move(
        new_parent, expected_version=payload["version"], sibling_codes=repo.sibling_codes(new_parent.id)
    )
    if plan.new_path == plan.old_path:
        return org_read(node)
    moved = repo.move_descendants(plan)
    follow_move(uow.session, plan)  # open registrations, memberships and current ratings move with the subtree
    node.apply_move(new_parent, plan, moved_nodes=moved + 1)
    _save(repo, node)
    _publish(uow, node, "org.move")
    return org_read(node)


def close_org(uow: UnitOfWork, ctx: CallerContext, org_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id, for_update=True)
    check_may_change(ctx.role, node.level)
    node.close(expected_version=payload["version"], active_children=repo.active_children(node.id), now=uow.clock.now())
    _save(repo, node)
    _publish(uow, node, "org.close")
    return org_read(node)


def _save(repo: OrgRepository, node: OrgNode) -> None:
    try:
        repo.save(node)
    except StaleDataError:
        raise StaleVersion("someone else changed this node first: reload it and try again") from None


def get_org(uow: UnitOfWork, ctx: CallerContext, org_id: str) -> dict[str, Any]:
    return org_read(_load(OrgRepository(uow.session), ctx, org_id))


def list_orgs(uow: UnitOfWork, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
    nodes, cursor = OrgRepository(uow.session).search(
        ctx.scope_path,
        query,
        sort=query.get("sort", "code"),
        limit=query.get("limit", 50),
        cursor=query.get("cursor"),
    )
    return {"items": [org_read(n) for n in nodes], "next_cursor": cursor}


def list_children(uow: UnitOfWork, ctx: CallerContext, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    parent = _load(repo, ctx, org_id)
    nodes, cursor = repo.search(
        ctx.scope_path, {"parent_id": parent.id}, sort="code", limit=query.get("limit", 50), cursor=query.get("cursor")
    )
    return {"items": [org_read(n) for n in nodes], "next_cursor": cursor}


def get_subtree(uow: UnitOfWork, ctx: CallerContext, org_id: str, depth: int) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    root = _load(repo, ctx, org_id)
    trees: dict[str, dict[str, Any]] = {}
    for node in repo.subtree(root, depth, ctx.scope_path):  # ordered by path: parents come first
        trees[node.id] = {**org_read(node), "children": []}
        if node.id != root.id and node.parent_id in trees:
            trees[node.parent_id]["children"].append(trees[node.id])
    return trees[root.id]


def list_ancestors(uow: UnitOfWork, ctx: CallerContext, org_id: str) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id)
    return {"items": [org_read(n) for n in repo.ancestors(node, ctx.scope_path)]}


def count_levels(uow: UnitOfWork, ctx: CallerContext, org_id: str) -> dict[str, Any]:
    repo = OrgRepository(uow.session)
    node = _load(repo, ctx, org_id)
    return {"org_id": node.id, "counts": repo.count_levels(node, ctx.scope_path)}


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


def create_account(
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
    uow: UnitOfWork, username: str, password: str, lockout: LockoutPolicy, sessions: SessionPolicy
) -> dict[str, Any]:
    """Check a password; count failures (committed even though the call fails) and lock after too many."""
    accounts = AccountRepository(uow.session)
    found = accounts.by_username(username)
    now = uow.clock.now()
    if found is None:
        verify_password(None, password)  # same cost as a wrong password: no username probing by timing
        raise InvalidCredentials("wrong username or password")
    account, password_hash = found
    account.check_can_log_in(now)
    if not verify_password(password_hash, password):
        account.record_failure(now, lockout)
        accounts.save_login_state(account)
        uow.audit("account.login_failed", "account", account.id, {"locked": account.locked_until is not None})
        uow.commit()
        raise InvalidCredentials("wrong username or password")
    account.record_success()
    accounts.save_login_state(account)
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
    account.check_can_log_in(now)
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
    return account_read(account, accounts.org_path(account.org_id))


def _session(account: Account, accounts: AccountRepository, token: str, refresh: RefreshToken) -> dict[str, Any]:
    return {
        "account": account_read(account, accounts.org_path(account.org_id)),
        "refresh_token": token,
        "refresh_expires_at": isoformat_z(refresh.expires_at),
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
