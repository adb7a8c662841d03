"""Street modules at the gateway: a route belongs to a module (by its blueprint), and a caller whose scope lies
inside a street that does not run that module gets 404, as if the route did not exist. Callers above or
outside every street (district admins, city departments) get every module. A street's modules come from the
organization service and are cached per scope for ACCOUNT_STATE_TTL seconds, like account state.

Attach a blueprint with `belongs_to(blp, MODULE)` before it is registered (see gateway/app.py)."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app, request
from flask_smorest import Blueprint

from gateway import auth, rpc
from gateway.config import GatewayConfig
from gateway.headers import correlation_id
from kit.context import CallerContext
from kit.errors import ServiceError

# blueprint name -> the module its routes belong to
MODULE_OF_BLUEPRINT: dict[str, str] = {}


def belongs_to(blp: Blueprint, module: str) -> Blueprint:
    """Gate every route of `blp` on `module`; returns the blueprint for chaining."""
    MODULE_OF_BLUEPRINT[blp.name] = module
    return blp


class StreetModules:
    """scope path -> the modules of the street it lies in (None: not inside a street), cached briefly."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._cache: dict[str, tuple[float, list[str] | None]] = {}

    def for_scope(self, scope_path: str) -> list[str] | None:
        cached = self._cache.get(scope_path)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        answer: dict[str, Any] = rpc.current().call(
            "organization", "modules_for_scope", CallerContext.system(correlation_id()), scope_path
        )
        modules: list[str] | None = answer["modules"]
        self._cache[scope_path] = (time.monotonic() + self.ttl, modules)
        return modules


def init_app(app: Flask, config: GatewayConfig) -> None:
    app.extensions["gateway.modules"] = StreetModules(config.account_state_ttl)
    app.before_request(_gate)


def current() -> StreetModules:
    modules: StreetModules = current_app.extensions["gateway.modules"]
    return modules


def _gate() -> None:
    module = MODULE_OF_BLUEPRINT.get(request.blueprint or "")
    if module is None:
        return
    state = auth.account()  # 401 first for a caller without a valid token or with a disabled account
    modules = current().for_scope(state["scope_path"])
    if modules is not None and module not in modules:
        raise ServiceError("not_found", "MODULE_NOT_RUN", f"your street does not run the {module} module")
