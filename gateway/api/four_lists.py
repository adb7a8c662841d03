"""Secretaries' four lists (四张清单) over HTTP: each route is one RPC of the organization service. District,
street and community secretaries use them; scope is the service's job (an item outside it is 404). The
routes belong to the `four_lists` module: a street that does not run it answers 404 to its users."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from gateway import rpc
from gateway.auth import allow
from gateway.headers import idempotency_key
from gateway.modules import belongs_to
from organization.schemas.four_lists import (
    FourListFilter,
    FourListItemCreate,
    FourListItemRead,
    FourListItemUpdate,
    FourListNoteCreate,
    FourListPage,
    FourListStatusChange,
)

MODULE = "four_lists"
SECRETARIES = ("district_admin", "street_secretary", "community_secretary")

blp = belongs_to(
    Blueprint("four_lists", __name__, url_prefix="/api/v1/four-lists", description="Secretaries' four lists"),
    MODULE,
)


def _organization(method: str, *args: Any) -> Any:
    return rpc.current().call("organization", method, g.caller, *args)


def _command(method: str, *args: Any) -> Any:
    return _organization(method, *args, idempotency_key(request.headers.get("Idempotency-Key")))


@blp.route("", methods=["GET"])
@allow(blp, *SECRETARIES)
@blp.arguments(FourListFilter, location="query", unknown=RAISE)
@blp.response(200, FourListPage)
def list_items(query: dict[str, Any]) -> Any:
    """The caller's own items (`scope=own`) or those of the nodes below (`scope=below`); `overdue=true` filters"""
    return _organization("list_four_list_items", FourListFilter().dump(query))


@blp.route("", methods=["POST"])
@allow(blp, *SECRETARIES)
@blp.arguments(FourListItemCreate)
@blp.response(
    201, FourListItemRead, headers={"Location": {"description": "the new item", "schema": {"type": "string"}}}
)
def create_item(body: dict[str, Any]) -> Any:
    """Add an item to a list of the caller's node (or of a node below it)"""
    item = _command("create_four_list_item", FourListItemCreate().dump(body))
    return item, {"Location": url_for("four_lists.get_item", item_id=item["id"])}


@blp.route("/<uuid:item_id>", methods=["GET"])
@allow(blp, *SECRETARIES)
@blp.response(200, FourListItemRead)
def get_item(item_id: UUID) -> Any:
    """One item with its progress notes"""
    return _organization("get_four_list_item", str(item_id))


@blp.route("/<uuid:item_id>", methods=["PATCH"])
@allow(blp, *SECRETARIES)
@blp.arguments(FourListItemUpdate)
@blp.response(200, FourListItemRead)
def update_item(body: dict[str, Any], item_id: UUID) -> Any:
    """Change title, description, due date or owner (send the version you read)"""
    return _command("update_four_list_item", str(item_id), FourListItemUpdate().dump(body))


@blp.route("/<uuid:item_id>/status", methods=["POST"])
@allow(blp, *SECRETARIES)
@blp.arguments(FourListStatusChange)
@blp.response(200, FourListItemRead)
def change_status(body: dict[str, Any], item_id: UUID) -> Any:
    """Move the item: open → in_progress → done, or cancelled (409 for any other move or a stale version)"""
    return _command("change_four_list_status", str(item_id), FourListStatusChange().dump(body))


@blp.route("/<uuid:item_id>/notes", methods=["POST"])
@allow(blp, *SECRETARIES)
@blp.arguments(FourListNoteCreate)
@blp.response(201, FourListItemRead)
def add_note(body: dict[str, Any], item_id: UUID) -> Any:
    """Append a progress note (notes are never changed or removed)"""
    return _command("add_four_list_note", str(item_id), FourListNoteCreate().dump(body))
