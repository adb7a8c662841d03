"""Accounts' life cycle over HTTP: a district admin manages every account, a street secretary those in their
street (never a district admin's: creating one is 403, and theirs are outside the street, so 404). A password
the service makes is in that one response only (`Cache-Control: no-store`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from gateway import rpc
from gateway.auth import allow
from gateway.headers import idempotency_key
from organization.schemas.accounts import (
    AccountAdminRead,
    AccountCreate,
    AccountDisable,
    AccountFilter,
    AccountPage,
    AccountRead,
    PasswordReset,
)

ADMINS = ("district_admin", "street_secretary")
NO_STORE = {"Cache-Control": "no-store"}

blp = Blueprint("accounts", __name__, url_prefix="/api/v1/accounts", description="Accounts' life cycle")


def _organization(method: str, *args: Any) -> Any:
    return rpc.current().call("organization", method, g.caller, *args)


def _command(method: str, *args: Any) -> Any:
    return _organization(method, *args, idempotency_key(request.headers.get("Idempotency-Key")))


@blp.route("", methods=["GET"])
@allow(blp, *ADMINS)
@blp.arguments(AccountFilter, location="query", unknown=RAISE)
@blp.response(200, AccountPage)
def list_accounts(query: dict[str, Any]) -> Any:
    """Accounts in the caller's scope, by username, paged"""
    return _organization("list_accounts", AccountFilter().dump(query))


@blp.route("", methods=["POST"])
@allow(blp, *ADMINS)
@blp.arguments(AccountCreate)
@blp.response(201, AccountAdminRead)
def create_account(body: dict[str, Any]) -> Any:
    """Create an account on a node; without `password` a one-time temporary one is returned"""
    payload = AccountCreate().dump(body)
    if body.get("password") is not None:
        payload["password"] = body["password"]  # load-only in the contract: dump leaves it out
    account = _command("create_account", payload)
    return account, {**NO_STORE, "Location": url_for("accounts.get_account", account_id=account["account_id"])}


@blp.route("/<uuid:account_id>", methods=["GET"])
@allow(blp, *ADMINS)
@blp.response(200, AccountRead)
def get_account(account_id: UUID) -> Any:
    """One account"""
    return _organization("get_account", str(account_id))


@blp.route("/<uuid:account_id>/disable", methods=["POST"])
@allow(blp, *ADMINS)
@blp.arguments(AccountDisable)
@blp.response(200, AccountRead)
def disable_account(body: dict[str, Any], account_id: UUID) -> Any:
    """Disable the account: no more logins, refresh tokens revoked, access tokens refused within seconds"""
    return _command("disable_account", str(account_id), AccountDisable().dump(body))


@blp.route("/<uuid:account_id>/enable", methods=["POST"])
@allow(blp, *ADMINS)
@blp.response(200, AccountRead)
def enable_account(account_id: UUID) -> Any:
    """Enable a disabled account again"""
    return _command("enable_account", str(account_id))


@blp.route("/<uuid:account_id>/reset-password", methods=["POST"])
@allow(blp, *ADMINS)
@blp.arguments(PasswordReset)
@blp.response(200, AccountAdminRead)
def reset_password(body: dict[str, Any], account_id: UUID) -> Any:
    """Set the given password, or get a one-time temporary one; every session of the account ends"""
    payload = {"password": body["password"]} if body.get("password") is not None else {}
    return _command("reset_password", str(account_id), payload), NO_STORE
