"""Who is calling: access tokens (JWT, HS256 pinned, at most 15 minutes), the account's current state from the
organization service (cached for a few seconds), the caller context built from that state, and route-level
permission (a role a route does not list gets 403 before any RPC)."""

from __future__ import annotations

import functools
import re
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast

import jwt
from flask import Flask, current_app, g, request
from flask_smorest import Blueprint

from gateway import rpc
from gateway.config import GatewayConfig
from gateway.headers import correlation_id
from kit.clock import Clock, SystemClock
from kit.context import ROLES, CallerContext
from kit.errors import ServiceError

ALGORITHM = "HS256"
EVERY_ROLE = ROLES
PUBLIC = ("anonymous", *ROLES)  # no token needed
F = TypeVar("F", bound=Callable[..., Any])
VERIFIED_TOKENS = 4096  # tokens remembered as verified, per gateway process


def _unauthenticated(code: str, detail: str) -> ServiceError:
    return ServiceError("unauthenticated", code, detail)


class Tokens:
    """Access tokens: signed with the first of JWT_KEYS (its `kid` in the header), verified with any of them."""

    def __init__(self, config: GatewayConfig, clock: Clock) -> None:
        self._keys = dict(config.jwt_keys)
        self._signing_kid = config.jwt_keys[0][0]
        self._issuer = config.jwt_issuer
        self._audience = config.jwt_audience
        self.ttl = config.access_token_ttl
        self._clock = clock
        # Only verified tokens are remembered: a failed check raises, and lru_cache keeps no exceptions.
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS)(self._decode)

    def issue(self, account_id: str, session_id: str | None = None) -> str:
        """A token for the account; `sid` names the session (refresh family) it belongs to, so ending that
        session (logout, a replayed refresh token, a password reset) ends the token too."""
        now = self._clock.now()
        claims = {
            "sub": account_id,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl),
            "jti": uuid.uuid4().hex,
        }
        if session_id is not None:
            claims["sid"] = session_id
        kid = self._signing_kid
        return jwt.encode(claims, self._keys[kid], algorithm=ALGORITHM, headers={"kid": kid})

    def verify(self, token: str) -> tuple[str, str | None]:
        """The account id and session a valid token was issued to; 401 for anything else. A token's signature
        and claims are checked once and remembered (VERIFIED_TOKENS of them): a client sends the same token
        with every request for up to 15 minutes, and HMAC plus PyJWT's claim checks were a tenth of the
        gateway's time (docs/performance.md). Expiry is checked on every use, as PyJWT checks it."""
        claims = self._verified(token)
        if claims["exp"] <= time.time():
            raise _unauthenticated("TOKEN_EXPIRED", "the access token has expired: refresh it")
        sid = claims.get("sid")
        return str(claims["sub"]), sid if isinstance(sid, str) else None

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise _unauthenticated("TOKEN_INVALID", "the token was not signed by a key this gateway knows")
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "aud", "iss", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthenticated("TOKEN_EXPIRED", "the access token has expired: refresh it") from None
        except jwt.InvalidTokenError:
            raise _unauthenticated("TOKEN_INVALID", "the access token is not valid") from None
        return claims


class AccountStates:
    """Each account's current state (role, scope, status) from the organization service, the one authority,
    cached per process for at most ACCOUNT_STATE_TTL seconds: a disabled account stops working within that."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, account_id: str) -> dict[str, Any]:
        cached = self._cache.get(account_id)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        try:
            state = rpc.current().call(
                "organization", "account_state", CallerContext.system(correlation_id()), account_id
            )
        except ServiceError as exc:
            if exc.kind != "not_found":
                raise
            raise _unauthenticated("ACCOUNT_UNKNOWN", "the account no longer exists") from None
        self._cache[account_id] = (time.monotonic() + self.ttl, state)
        return cast(dict[str, Any], state)


class Auth:
    def __init__(self, config: GatewayConfig, clock: Clock) -> None:
        self.tokens = Tokens(config, clock)
        self.accounts = AccountStates(config.account_state_ttl)

    def session(self, session: dict[str, Any]) -> dict[str, Any]:
        """What a client gets for a successful login or refresh: a new access token and the service's session."""
        return {
            "access_token": self.tokens.issue(session["account"]["account_id"], session.get("session_id")),
            "token_type": "Bearer",
            "expires_in": self.tokens.ttl,
            "refresh_token": session["refresh_token"],
            "refresh_expires_at": session["refresh_expires_at"],
            "account": session["account"],
        }


def init_app(app: Flask, config: GatewayConfig) -> None:
    app.extensions["gateway.auth"] = Auth(config, SystemClock())


def current() -> Auth:
    auth: Auth = current_app.extensions["gateway.auth"]
    return auth


# Open311's name for the access token sent as a query or body parameter, and the blueprints that take it.
API_KEY_NAME = "api_key"
API_KEY_BLUEPRINTS: set[str] = set()
_TOKEN_IN_QUERY = re.compile(rf"(?i)((?:^|&){API_KEY_NAME}=)[^&]*")


def token_also_in(blp: Blueprint) -> Blueprint:
    """Let the routes of `blp` take the access token as `api_key` (query, form or JSON body) when no
    Authorization header is sent: Open311's clients know no other way. The header wins when both are sent."""
    API_KEY_BLUEPRINTS.add(blp.name)
    return blp


def loggable_query(query: str | None) -> str | None:
    """A query string fit for a log line: a token sent as `api_key` is a credential, and is redacted."""
    return _TOKEN_IN_QUERY.sub(r"\1[redacted]", query) if query else None


def _parameter_token() -> str | None:
    if request.blueprint not in API_KEY_BLUEPRINTS:
        return None
    value = request.args.get(API_KEY_NAME)
    if value is None and request.mimetype == "application/x-www-form-urlencoded":
        value = request.form.get(API_KEY_NAME)  # the body's size was checked before anything reads it
    elif value is None and request.is_json:
        body = request.get_json(silent=True)
        found = body.get(API_KEY_NAME) if isinstance(body, dict) else None
        value = found if isinstance(found, str) else None
    return value


def bearer_account_id() -> str:
    """The account id of this request's valid bearer token (checked once per request); 401 otherwise."""
    if "account_id" not in g:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if "Authorization" not in request.headers:
            scheme, token = "bearer", _parameter_token() or ""
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("TOKEN_MISSING", "send an access token: Authorization: Bearer <token>")
        g.account_id, g.session_id = current().tokens.verify(token.strip())
    return str(g.account_id)


def account() -> dict[str, Any]:
    """The caller's account as the organization service has it now; 401 when it is disabled or gone, or when
    the token's session has ended since it was issued (both seen within ACCOUNT_STATE_TTL)."""
    state = current().accounts.get(bearer_account_id())
    if state["status"] != "active":
        raise _unauthenticated("ACCOUNT_DISABLED", "the account is disabled")
    if g.session_id is not None and g.session_id in state.get("ended_sessions", ()):
        raise _unauthenticated("SESSION_ENDED", "this session has ended (logged out or reset): log in again")
    return state


def caller() -> CallerContext:
    """The caller context of this request, built from the account's current state, never from token claims."""
    state = account()
    return CallerContext(
        role=state["role"],
        scope_path=state["scope_path"],
        correlation_id=correlation_id(),
        account_id=state["account_id"],
        department_code=state.get("department_code"),
        member_id=state.get("member_id"),
    )


def anonymous() -> CallerContext:
    return CallerContext.anonymous(correlation_id())


def allow(blp: Blueprint, *roles: str) -> Callable[[F], F]:
    """Route-level permission: authenticate, refuse a role not listed with 403, and document both."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            ctx = caller()
            if ctx.role not in roles:
                raise ServiceError("forbidden", "ROLE_FORBIDDEN", f"the role {ctx.role} may not use this route")
            g.caller = ctx
            return view(*args, **kwargs)

        return cast(F, _document(blp, guarded, roles, security=[{"bearerAuth": []}]))

    return decorate


def public(blp: Blueprint) -> Callable[[F], F]:
    """A route anyone may call without a token (it is still rate limited)."""

    def decorate(view: F) -> F:
        return cast(F, _document(blp, view, PUBLIC, security=[]))

    return decorate


def _document(blp: Blueprint, view: Callable[..., Any], roles: tuple[str, ...], **doc: Any) -> Callable[..., Any]:
    who = "anyone, no token needed" if roles == PUBLIC else ", ".join(roles)
    return cast(
        Callable[..., Any], blp.doc(description=f"Roles allowed: {who}.", **{"x-roles": list(roles)}, **doc)(view)
    )
