"""Party members over HTTP (docs/members.md): each route is one RPC of the organization service, which
enforces object-level scope (a member outside the caller's scope is 404) and who may reveal personal data.
Writers are the three secretaries' roles; a branch secretary reads; a member's own account reads only itself.
The roster import is the one multipart route of the API; the export answers an .xlsx file."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from flask import Response, g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from gateway import rpc
from gateway.auth import allow
from gateway.bodies import accepts
from gateway.headers import idempotency_key
from kit.errors import ServiceError
from organization.schemas.members import (
    AccessLogFilter,
    AccessLogPage,
    ImportResult,
    MemberCreate,
    MemberFilter,
    MemberGet,
    MemberLeave,
    MemberPage,
    MemberRead,
    MemberTransfer,
    MemberUpdate,
    RosterExport,
    TransferList,
)

WRITERS = ("district_admin", "street_secretary", "community_secretary")
READERS = (*WRITERS, "branch_secretary", "member")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

blp = Blueprint("members", __name__, url_prefix="/api/v1", description="Party members and the access log")


def _organization(method: str, *args: Any) -> Any:
    return rpc.current().call("organization", method, g.caller, *args)


def _command(method: str, *args: Any) -> Any:
    return _organization(method, *args, idempotency_key(request.headers.get("Idempotency-Key")))


@blp.route("/members", methods=["GET"])
@allow(blp, *READERS)
@blp.arguments(MemberFilter, location="query", unknown=RAISE)
@blp.response(200, MemberPage)
def list_members(query: dict[str, Any]) -> Any:
    """Search members by name within the caller's scope (masked), paged by `next_cursor`"""
    return _organization("list_members", MemberFilter().dump(query))


@blp.route("/members", methods=["POST"])
@allow(blp, *WRITERS)
@blp.arguments(MemberCreate)
@blp.response(201, MemberRead, headers={"Location": {"description": "the new member", "schema": {"type": "string"}}})
def register_member(body: dict[str, Any]) -> Any:
    """Register a member in a party branch"""
    member = _command("register_member", MemberCreate().dump(body))
    return member, {"Location": url_for("members.get_member", member_id=member["id"])}


@blp.route("/members/<uuid:member_id>", methods=["GET"])
@allow(blp, *READERS)
@blp.arguments(MemberGet, location="query", unknown=RAISE)
@blp.response(200, MemberRead)
def get_member(query: dict[str, Any], member_id: UUID) -> Any:
    """One member, masked; `reveal=true` unmasks for a role allowed to (and writes the access log)"""
    return _organization("get_member", str(member_id), MemberGet().dump(query))


@blp.route("/members/<uuid:member_id>", methods=["PATCH"])
@allow(blp, *WRITERS)
@blp.arguments(MemberUpdate)
@blp.response(200, MemberRead)
def update_member(body: dict[str, Any], member_id: UUID) -> Any:
    """Change a member's details (send the version you read)"""
    return _command("update_member", str(member_id), MemberUpdate().dump(body))


@blp.route("/members/<uuid:member_id>/transfer", methods=["POST"])
@allow(blp, *WRITERS)
@blp.arguments(MemberTransfer)
@blp.response(200, MemberRead)
def transfer_member(body: dict[str, Any], member_id: UUID) -> Any:
    """Transfer a member to another branch (the history is kept)"""
    return _command("transfer_member", str(member_id), MemberTransfer().dump(body))


@blp.route("/members/<uuid:member_id>/leave", methods=["POST"])
@allow(blp, *WRITERS)
@blp.arguments(MemberLeave)
@blp.response(200, MemberRead)
def leave_member(body: dict[str, Any], member_id: UUID) -> Any:
    """The member leaves: the record is kept, their accounts are disabled"""
    return _command("leave_member", str(member_id), MemberLeave().dump(body))


@blp.route("/members/<uuid:member_id>/transfers", methods=["GET"])
@allow(blp, *READERS)
@blp.response(200, TransferList)
def list_transfers(member_id: UUID) -> Any:
    """A member's transfers, oldest first"""
    return _organization("list_member_transfers", str(member_id))


@blp.route("/members/import", methods=["POST"])
@allow(blp, *WRITERS)
@blp.doc(
    requestBody={
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["branch_id", "file"],
                    "properties": {
                        "branch_id": {"type": "string", "format": "uuid"},
                        "file": {"type": "string", "format": "binary", "description": "the roster (.xlsx)"},
                    },
                }
            }
        },
    }
)
@blp.response(201, ImportResult)
@accepts(blp, "multipart/form-data")
def import_members() -> Any:
    """Import a branch's roster (.xlsx): every row valid and all imported, or nothing (422 names each row)"""
    errors: dict[str, list[str]] = {}
    unknown = (set(request.form) - {"branch_id"}) | (set(request.files) - {"file"})
    for name in sorted(unknown):
        errors[name] = ["Unknown field."]
    branch_id = request.form.get("branch_id", "")
    try:
        branch_id = str(UUID(branch_id))
    except ValueError:
        errors["branch_id"] = ["Not a valid UUID."]
    upload = request.files.get("file")
    if upload is None:
        errors["file"] = ["Missing data for required field."]
    if errors:
        raise ServiceError("invalid", "VALIDATION_FAILED", "the input does not match the contract", errors)
    assert upload is not None
    content = base64.b64encode(upload.read()).decode()
    return _command("import_members", branch_id, content)


@blp.route("/members/export", methods=["GET"])
@allow(blp, *WRITERS)
@blp.arguments(RosterExport, location="query", unknown=RAISE)
@blp.doc(responses={"200": {"description": "the roster", "content": {XLSX: {"schema": {"type": "string"}}}}})
def export_members(query: dict[str, Any]) -> Response:
    """A branch's roster as .xlsx, masked unless `reveal=true` by a role allowed to (then access-logged)"""
    result = _organization("export_members", RosterExport().dump(query))
    return Response(
        base64.b64decode(result["content"]),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="roster-{result["branch_id"]}.xlsx"'},
    )


@blp.route("/access-log", methods=["GET"])
@allow(blp, "district_admin")
@blp.arguments(AccessLogFilter, location="query", unknown=RAISE)
@blp.response(200, AccessLogPage)
def list_access_log(query: dict[str, Any]) -> Any:
    """Every read of unmasked personal data, newest first, filtered by member, account and time"""
    return _organization("list_access_log", AccessLogFilter().dump(query))
