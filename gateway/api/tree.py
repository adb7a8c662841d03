"""The organisation tree over HTTP: each route is one RPC of the organization service
(docs/organization-rpc.md). Every role may read; object-level scope is the service's job (a node outside
the caller's scope is 404). Only the three secretaries' roles may change the tree; which levels each may
touch is again the service's rule. The city departments have their own list (`/api/v1/departments`), open to
every role, because a secretary summons departments that lie outside their scope. Unknown query parameters are
refused like unknown body fields (webargs would otherwise drop them silently, so a misspelt filter would return
everything)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from gateway import rpc
from gateway.auth import EVERY_ROLE, allow
from gateway.headers import idempotency_key
from kit.wire import PageQuery
from organization.schemas.tree import (
    DepartmentList,
    LevelCounts,
    OrgClose,
    OrgCreate,
    OrgFilter,
    OrgList,
    OrgMove,
    OrgPage,
    OrgRead,
    OrgRename,
    OrgTree,
    SubtreeQuery,
)

WRITERS = ("district_admin", "street_secretary", "community_secretary")

blp = Blueprint("orgs", __name__, url_prefix="/api/v1/orgs", description="The organisation tree")
departments = Blueprint(
    "departments", __name__, url_prefix="/api/v1/departments", description="The city departments (市级部门)"
)
BLUEPRINTS = (blp, departments)


def _organization(method: str, *args: Any) -> Any:
    return rpc.current().call("organization", method, g.caller, *args)


def _command(method: str, *args: Any) -> Any:
    """A state-changing call: it carries the client's Idempotency-Key, or one made for this request."""
    return _organization(method, *args, idempotency_key(request.headers.get("Idempotency-Key")))


@blp.route("", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.arguments(OrgFilter, location="query", unknown=RAISE)
@blp.response(200, OrgPage)
def list_orgs(query: dict[str, Any]) -> Any:
    """List the nodes in the caller's scope, filtered, sorted and paged (`next_cursor`)"""
    return _organization("list_orgs", query)


@blp.route("", methods=["POST"])
@allow(blp, *WRITERS)
@blp.arguments(OrgCreate)
@blp.response(201, OrgRead, headers={"Location": {"description": "the new node", "schema": {"type": "string"}}})
def create_org(body: dict[str, Any]) -> Any:
    """Create a node under a parent"""
    node = _command("create_org", OrgCreate().dump(body))
    return node, {"Location": url_for("orgs.get_org", org_id=node["id"])}


@blp.route("/<uuid:org_id>", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.response(200, OrgRead)
def get_org(org_id: UUID) -> Any:
    """One node"""
    return _organization("get_org", str(org_id))


@blp.route("/<uuid:org_id>", methods=["PATCH"])
@allow(blp, *WRITERS)
@blp.arguments(OrgRename)
@blp.response(200, OrgRead)
def rename_org(body: dict[str, Any], org_id: UUID) -> Any:
    """Rename a node (send the version you read)"""
    return _command("rename_org", str(org_id), OrgRename().dump(body))


@blp.route("/<uuid:org_id>/children", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.arguments(PageQuery, location="query", unknown=RAISE)
@blp.response(200, OrgPage)
def list_children(query: dict[str, Any], org_id: UUID) -> Any:
    """A node's children, by code, paged"""
    return _organization("list_children", str(org_id), query)


@blp.route("/<uuid:org_id>/subtree", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.arguments(SubtreeQuery, location="query", unknown=RAISE)
@blp.response(200, OrgTree)
def get_subtree(query: dict[str, Any], org_id: UUID) -> Any:
    """A node with its descendants down to `depth` levels"""
    return _organization("get_subtree", str(org_id), query["depth"])


@blp.route("/<uuid:org_id>/ancestors", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.response(200, OrgList)
def list_ancestors(org_id: UUID) -> Any:
    """A node's ancestors in the caller's scope, root first"""
    return _organization("list_ancestors", str(org_id))


@blp.route("/<uuid:org_id>/counts", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.response(200, LevelCounts)
def count_levels(org_id: UUID) -> Any:
    """Active nodes of a subtree by level, the node included"""
    return _organization("count_levels", str(org_id))


@blp.route("/<uuid:org_id>/move", methods=["POST"])
@allow(blp, *WRITERS)
@blp.arguments(OrgMove)
@blp.response(200, OrgRead)
def move_org(body: dict[str, Any], org_id: UUID) -> Any:
    """Move a node (and its subtree) under a new parent"""
    return _command("move_org", str(org_id), OrgMove().dump(body))


@blp.route("/<uuid:org_id>/close", methods=["POST"])
@allow(blp, *WRITERS)
@blp.arguments(OrgClose)
@blp.response(200, OrgRead)
def close_org(body: dict[str, Any], org_id: UUID) -> Any:
    """Close a node that has no active children"""
    return _command("close_org", str(org_id), OrgClose().dump(body))


@departments.route("", methods=["GET"])
@allow(departments, *EVERY_ROLE)
@departments.response(200, DepartmentList)
def list_departments() -> Any:
    """Every active city department (id, code, name, path), by code; not paged"""
    return _organization("list_departments")
