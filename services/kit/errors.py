"""Typed errors that cross process boundaries, with stable codes and one mapping to HTTP.

Pure standard library: services' domains raise their own exceptions carrying `kind` and `code`
(duck-typed, so a domain imports nothing from here); the kit turns them into `ServiceError` at the RPC
boundary and the gateway maps `kind` to a status code with `HTTP_STATUS`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

# kind -> HTTP status: the one table (ARCHITECTURE.md "Who may do what").
HTTP_STATUS: dict[str, int] = {
    "bad_request": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "invalid": 422,
    "rate_limited": 429,
    "internal": 500,
    "unavailable": 503,
    "timeout": 504,
}

TITLES: dict[str, str] = {
    "bad_request": "Bad request",
    "unauthenticated": "Authentication required",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    "conflict": "Conflict",
    "too_large": "Request body too large",
    "invalid": "Validation failed",
    "rate_limited": "Too many requests",
    "internal": "Internal error",
    "unavailable": "Service unavailable",
    "timeout": "Service timed out",
}

FieldErrors = dict[str, Any]


@runtime_checkable
class DomainErrorLike(Protocol):
    """What the kit expects of a domain's exceptions: a kind from HTTP_STATUS and a stable code."""

    kind: str
    code: str


class ServiceError(Exception):
    """An expected failure with a stable code; survives RPC (registered with nameko in kit.rpc)."""

    def __init__(self, kind: str, code: str, detail: str, errors: FieldErrors | None = None) -> None:
        if kind not in HTTP_STATUS:
            raise ValueError(f"unknown error kind {kind!r}")
        super().__init__(kind, code, detail, errors or {})
        self.kind = kind
        self.code = code
        self.detail = detail
        self.errors: FieldErrors = errors or {}

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.kind]

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class AlreadyHandled(Exception):
    """An event's id is already in this handler's inbox: the redelivery has no second effect."""


def as_service_error(exc: BaseException) -> ServiceError | None:
    """The ServiceError an exception stands for, or None when it is unexpected (a bug, an outage)."""
    if isinstance(exc, ServiceError):
        return exc
    kind = getattr(exc, "kind", None)
    code = getattr(exc, "code", None)
    if isinstance(kind, str) and kind in HTTP_STATUS and isinstance(code, str):
        errors = getattr(exc, "errors", None)
        detail = getattr(exc, "detail", None) or str(exc)
        return ServiceError(kind, code, str(detail), errors if isinstance(errors, dict) else None)
    return None


def not_found(what: str) -> ServiceError:
    return ServiceError("not_found", "NOT_FOUND", f"{what} not found")
