"""A fake organization service for the gateway's tests: a real nameko service (the kit's `@rpc`, service
name `organization`) over in-memory data. It keeps the RPC contract of docs/organization-rpc.md closely
enough for the gateway, enforces scope like the real one, and records every call with the caller context it
received, so tests can see what the gateway sent."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from kit.context import CallerContext
from kit.entrypoints import rpc
from kit.errors import ServiceError
from kit.wire import PageQuery
from organization.schemas.tree import OrgCreate, OrgFilter, OrgMove, OrgRename

CREATED_AT = "2026-01-01T00:00:00Z"
DEPARTMENT = {
    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "/departments/water/")),
    "code": "water",
    "name": "水务局",
    "org_path": "/departments/water/",
}


def password_of(username: str) -> str:
    return f"pw-{username}"


@dataclass
class Call:
    method: str
    ctx: CallerContext
    args: tuple[Any, ...]


@dataclass
class Store:
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # account id -> AccountRead
    sessions: dict[str, str] = field(default_factory=dict)  # refresh token -> account id
    orgs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> OrgRead
    done: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> result
    calls: list[Call] = field(default_factory=list)
    release_slow: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def seeded(cls) -> Store:
        store = cls()
        gd = store.add_org("gd", "官渡区", "district", None)
        liujia = store.add_org("liujia", "六甲街道", "street", gd)
        store.add_org("c01", "六甲社区", "community", liujia)
        store.add_org("guanshang", "关上街道", "street", gd)
        store.add_org("slow", "a node that takes its time", "street", gd)
        store.add_org("buggy", "a node that trips a bug", "street", gd)
        store.add_account("admin", "district_admin", "/")
        store.add_account("liujia", "street_secretary", "/gd/liujia/")
        store.add_account("guanshang", "street_secretary", "/gd/guanshang/")
        store.add_account("member", "member", "/gd/liujia/c01/")
        return store

    def add_org(self, code: str, name: str, level: str, parent_id: str | None) -> str:
        parent_path = self.orgs[parent_id]["org_path"] if parent_id else "/"
        path = f"{parent_path}{code}/"
        segments = path.strip("/").split("/")
        node_id = str(uuid.uuid5(uuid.NAMESPACE_URL, path))
        self.orgs[node_id] = {
            "id": node_id,
            "code": code,
            "name": name,
            "level": level,
            "parent_id": parent_id,
            "org_path": path,
            "street_code": segments[1] if len(segments) > 1 else "district",
            "location": None,
            "brand": None,
            "status": "active",
            "version": 1,
            "created_at": CREATED_AT,
            "closed_at": None,
        }
        return node_id

    def add_account(self, username: str, role: str, scope_path: str) -> str:
        account_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, username))
        self.accounts[account_id] = {
            "account_id": account_id,
            "username": username,
            "display_name": username.title(),
            "role": role,
            "org_id": None,
            "scope_path": scope_path,
            "department_code": None,
            "member_id": None,
            "status": "active",
        }
        return account_id

    def id_of(self, code: str) -> str:
        return next(node_id for node_id, node in self.orgs.items() if node["code"] == code)

    def account_of(self, username: str) -> dict[str, Any]:
        return next(a for a in self.accounts.values() if a["username"] == username)

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]


class FakeOrganizationService:
    name = "organization"
    store: Store  # each test's own, set by `service_for`

    def _seen(self, method: str, ctx: CallerContext, *args: Any) -> None:
        self.store.calls.append(Call(method, ctx, args))

    def _node(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        node = self.store.orgs.get(org_id)
        if node is None or not ctx.can_see(node["org_path"]):
            raise ServiceError("not_found", "ORG_NOT_FOUND", "organisation not found")
        return node

    def _session(self, account_id: str) -> dict[str, Any]:
        token = uuid.uuid4().hex + uuid.uuid4().hex
        self.store.sessions[token] = account_id
        return {
            "account": self.store.accounts[account_id],
            "refresh_token": token,
            "refresh_expires_at": "2026-02-01T00:00:00Z",
        }

    def _once(self, key: str, make: Any) -> dict[str, Any]:
        if key not in self.store.done:
            self.store.done[key] = make()
        return self.store.done[key]

    # -- accounts and sessions ------------------------------------------------------------------------
    @rpc
    def authenticate(self, ctx: CallerContext, username: str, password: str, source: str = "unknown") -> dict[str, Any]:
        self._seen("authenticate", ctx, username, source)
        account = next((a for a in self.store.accounts.values() if a["username"] == username), None)
        if account is None or password != password_of(username) or account["status"] != "active":
            raise ServiceError("unauthenticated", "AUTH_INVALID_CREDENTIALS", "wrong username or password")
        return self._session(account["account_id"])

    @rpc
    def refresh_session(self, ctx: CallerContext, refresh_token: str) -> dict[str, Any]:
        self._seen("refresh_session", ctx)
        account_id = self.store.sessions.pop(refresh_token, None)
        if account_id is None:
            raise ServiceError("unauthenticated", "AUTH_REFRESH_INVALID", "the refresh token is not valid")
        return self._session(account_id)

    @rpc
    def revoke_session(self, ctx: CallerContext, refresh_token: str) -> dict[str, Any]:
        self._seen("revoke_session", ctx)
        self.store.sessions.pop(refresh_token, None)
        return {"revoked": True}

    @rpc
    def account_state(self, ctx: CallerContext, account_id: str) -> dict[str, Any]:
        self._seen("account_state", ctx, account_id)
        if ctx.role != "system":
            raise ServiceError("forbidden", "SYSTEM_ONLY", "only the suite itself may call this")
        if account_id not in self.store.accounts:
            raise ServiceError("not_found", "ACCOUNT_NOT_FOUND", "account not found")
        return self.store.accounts[account_id]

    @rpc
    def modules_for_scope(self, ctx: CallerContext, scope_path: str) -> dict[str, Any]:
        self._seen("modules_for_scope", ctx, scope_path)
        street = scope_path.split("/")[2] if scope_path.count("/") > 2 else None
        return {"street_code": street, "modules": None if street is None else ["whistle", f"{street}_module"]}

    # -- the tree ---------------------------------------------------------------------------------------
    @rpc
    def get_org(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        self._seen("get_org", ctx, org_id)
        node = self._node(ctx, org_id)
        if node["code"] == "slow":
            self.store.release_slow.wait(timeout=30)
        if node["code"] == "buggy":
            raise KeyError("a bug in the service, with internals: /srv/secret")
        return node

    @rpc
    def list_orgs(self, ctx: CallerContext, query: dict[str, Any]) -> dict[str, Any]:
        self._seen("list_orgs", ctx, query)
        data = OrgFilter().load(query)
        nodes = [
            n
            for n in self.store.orgs.values()
            if ctx.can_see(n["org_path"]) and n["level"] == data.get("level", n["level"])
        ]
        return {"items": sorted(nodes, key=lambda n: n["code"])[: data["limit"]], "next_cursor": None}

    @rpc
    def list_children(self, ctx: CallerContext, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
        self._seen("list_children", ctx, org_id, query)
        PageQuery().load(query)
        self._node(ctx, org_id)
        children = [n for n in self.store.orgs.values() if n["parent_id"] == org_id and ctx.can_see(n["org_path"])]
        return {"items": sorted(children, key=lambda n: n["code"]), "next_cursor": None}

    @rpc
    def get_subtree(self, ctx: CallerContext, org_id: str, depth: int) -> dict[str, Any]:
        self._seen("get_subtree", ctx, org_id, depth)

        def tree(node: dict[str, Any], levels: int) -> dict[str, Any]:
            below = [n for n in self.store.orgs.values() if n["parent_id"] == node["id"]] if levels else []
            return {**node, "children": [tree(n, levels - 1) for n in sorted(below, key=lambda n: n["code"])]}

        return tree(self._node(ctx, org_id), depth)

    @rpc
    def list_ancestors(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        self._seen("list_ancestors", ctx, org_id)
        node, ancestors = self._node(ctx, org_id), []
        while node["parent_id"] is not None:
            node = self.store.orgs[node["parent_id"]]
            if ctx.can_see(node["org_path"]):
                ancestors.insert(0, node)
        return {"items": ancestors}

    @rpc
    def count_levels(self, ctx: CallerContext, org_id: str) -> dict[str, Any]:
        self._seen("count_levels", ctx, org_id)
        path = self._node(ctx, org_id)["org_path"]
        counts: dict[str, int] = {}
        for node in self.store.orgs.values():
            if node["org_path"].startswith(path):
                counts[node["level"]] = counts.get(node["level"], 0) + 1
        return {"org_id": org_id, "counts": counts}

    @rpc
    def list_departments(self, ctx: CallerContext) -> dict[str, Any]:
        self._seen("list_departments", ctx)
        if ctx.role == "anonymous":
            raise ServiceError("unauthenticated", "AUTH_REQUIRED", "log in first")
        return {"items": [DEPARTMENT]}  # not scoped: the same list for every caller

    @rpc
    def create_org(self, ctx: CallerContext, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        self._seen("create_org", ctx, payload, idempotency_key)
        data = OrgCreate().load(payload)
        parent = self._node(ctx, str(data["parent_id"]))
        if parent["level"] == "community" and data["level"] == "street":
            raise ServiceError(
                "invalid", "ORG_LEVEL_NOT_ALLOWED", "a street goes under the district", {"level": ["not here"]}
            )
        return self._once(
            idempotency_key,
            lambda: self.store.orgs[self.store.add_org(data["code"], data["name"], data["level"], parent["id"])],
        )

    @rpc
    def rename_org(
        self, ctx: CallerContext, org_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        self._seen("rename_org", ctx, org_id, payload, idempotency_key)
        data = OrgRename().load(payload)
        node = self._node(ctx, org_id)
        if data["version"] != node["version"]:
            raise ServiceError("conflict", "ORG_STALE", "the node changed since you read it")
        node.update(name=data["name"], version=node["version"] + 1)
        return node

    @rpc
    def move_org(
        self, ctx: CallerContext, org_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        self._seen("move_org", ctx, org_id, payload, idempotency_key)
        data = OrgMove().load(payload)
        node, parent = self._node(ctx, org_id), self._node(ctx, str(data["new_parent_id"]))
        node.update(
            parent_id=parent["id"], org_path=f"{parent['org_path']}{node['code']}/", version=node["version"] + 1
        )
        return node

    @rpc
    def close_org(
        self, ctx: CallerContext, org_id: str, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        self._seen("close_org", ctx, org_id, payload, idempotency_key)
        node = self._node(ctx, org_id)
        node.update(status="closed", closed_at=CREATED_AT, version=node["version"] + 1)
        return node


def service_for(store: Store) -> type:
    """The fake service class bound to one test's data."""
    return type("FakeOrganizationService", (FakeOrganizationService,), {"store": store})
