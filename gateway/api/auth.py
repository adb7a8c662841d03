"""Sessions over HTTP: log in (password -> access and refresh tokens), refresh (rotated by the organization
service), log out, and the caller's own account."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from gateway import auth, modules, rpc
from gateway.limits import per_client_ip, per_username
from organization.schemas.accounts import AccountRead, Credentials, RefreshRequest

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sessions: log in, refresh, log out, who am I")


class TokenRead(Schema):
    access_token = fields.String(required=True, metadata={"description": "JWT, send as Authorization: Bearer"})
    token_type = fields.String(required=True, metadata={"description": "always Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds the access token is valid"})
    refresh_token = fields.String(required=True, metadata={"description": "opaque, single use: rotated on refresh"})
    refresh_expires_at = fields.String(required=True)
    account = fields.Nested(AccountRead, required=True)


class MeRead(AccountRead):
    modules = fields.List(
        fields.String(),
        required=True,
        allow_none=True,
        metadata={
            "description": "the street modules whose routes this account gets (its street's list, for the front "
            "end's menus); null: every module, for an account above or outside the streets"
        },
    )


def _organization(method: str, *args: Any) -> Any:
    return rpc.current().call("organization", method, auth.anonymous(), *args)


@blp.route("/auth/token", methods=["POST"])
@auth.public(blp)
@per_client_ip
@per_username
@blp.arguments(Credentials)
@blp.response(200, TokenRead)
def issue_token(credentials: dict[str, Any]) -> dict[str, Any]:
    """Log in with a username and password"""
    # The address behind the trusted proxies (ProxyFix): failures are throttled per account and source.
    source = request.remote_addr or "unknown"
    session = _organization("authenticate", credentials["username"], credentials["password"], source)
    return auth.current().session(session)


@blp.route("/auth/refresh", methods=["POST"])
@auth.public(blp)
@blp.arguments(RefreshRequest)
@blp.response(200, TokenRead)
def refresh(body: dict[str, Any]) -> dict[str, Any]:
    """Trade a refresh token for a new access token and a new refresh token"""
    return auth.current().session(_organization("refresh_session", body["refresh_token"]))


@blp.route("/auth/logout", methods=["POST"])
@auth.public(blp)
@blp.arguments(RefreshRequest)
@blp.response(204)
def logout(body: dict[str, Any]) -> None:
    """Revoke a refresh token (always succeeds)"""
    _organization("revoke_session", body["refresh_token"])


@blp.route("/me", methods=["GET"])
@auth.allow(blp, *auth.EVERY_ROLE)
@blp.response(200, MeRead)
def me() -> dict[str, Any]:
    """The caller's account as it is now, with the street modules it gets"""
    state = auth.account()
    return {**state, "modules": modules.current().for_scope(state["scope_path"])}
