"""A street's brand and the modules it runs. Any role may read a street in its scope; only a district admin
changes the list (it decides which routes the street's users get, see gateway/modules.py)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import g, request
from flask_smorest import Blueprint

from gateway import rpc
from gateway.auth import EVERY_ROLE, allow
from gateway.headers import idempotency_key
from organization.schemas.modules import StreetModulesRead, StreetModulesUpdate

blp = Blueprint("streets", __name__, url_prefix="/api/v1/streets", description="Street brands and modules")


@blp.route("/<uuid:street_id>/modules", methods=["GET"])
@allow(blp, *EVERY_ROLE)
@blp.response(200, StreetModulesRead)
def get_modules(street_id: UUID) -> Any:
    """The street's brand, the modules it runs and the catalogue it chooses from"""
    return rpc.current().call("organization", "get_street_modules", g.caller, str(street_id))


@blp.route("/<uuid:street_id>/modules", methods=["PUT"])
@allow(blp, "district_admin")
@blp.arguments(StreetModulesUpdate)
@blp.response(200, StreetModulesRead)
def put_modules(body: dict[str, Any], street_id: UUID) -> Any:
    """Replace the list of modules the street runs"""
    return rpc.current().call(
        "organization",
        "set_street_modules",
        g.caller,
        str(street_id),
        StreetModulesUpdate().dump(body),
        idempotency_key(request.headers.get("Idempotency-Key")),
    )
