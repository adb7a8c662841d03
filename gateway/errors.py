"""Every error the gateway answers is an RFC 9457 problem (`application/problem+json`) with a stable code.

A service's `ServiceError` keeps its code and gets its status from `kit.errors.HTTP_STATUS`, the one mapping
table; `HTTP_CODES` only names what fails at the HTTP level before any service is asked (werkzeug, webargs,
flask-limiter).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from flask import Response, request
from flask_smorest import Api
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from gateway.headers import correlation_id
from kit.errors import TITLES, FieldErrors, ServiceError

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://guandu.example/problems/"

HTTP_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BODY_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
    431: "HEADERS_TOO_LARGE",
    500: "INTERNAL",
}
BODY_NOT_JSON = "BODY_NOT_JSON"


def problem_type(code: str) -> str:
    return PROBLEM_BASE + code.lower().replace("_", "-")


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: FieldErrors | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "correlation_id": correlation_id(),
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    if status == 401:  # RFC 6750: say how to authenticate, and whether the token given was the problem
        response.headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if "Authorization" in request.headers else "Bearer"
        )
    return response


def service_error_response(error: ServiceError) -> Response:
    return problem(error.status, error.code, error.detail, title=TITLES[error.kind], errors=error.errors)


def http_error_response(error: HTTPException) -> Response:
    """werkzeug's and the extensions' HTTP errors as problems: field errors kept, internals never shown."""
    status = error.code or 500
    code = HTTP_CODES.get(status, f"HTTP_{status}")
    data = getattr(error, "data", None) or {}  # webargs' abort() puts the schema's field errors here
    errors = data.get("messages")
    detail = error.description or HTTPStatus(status).phrase
    if isinstance(getattr(error, "exc", None), (json.JSONDecodeError, UnicodeDecodeError)):  # webargs' 400
        code, detail, errors = BODY_NOT_JSON, "the body is not valid JSON", None
    elif status == 422:
        detail = "the input does not match the contract"
    elif status == 413:
        _drain_refused_body()
    elif status == 429:
        detail = f"rate limit exceeded: {error.description}"
    elif status >= 500:
        detail = "internal error"
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}  # e.g. Allow on a 405
    return problem(status, code, detail, errors=errors, headers={**headers, **(data.get("headers") or {})})


DRAIN_LIMIT = 16 * 1024 * 1024


def _drain_refused_body() -> None:
    """A client still sending a refused body would see the connection reset instead of our 413: read the body
    away first, up to a cap (beyond it, the server closes the connection as before)."""
    stream = request.environ.get("wsgi.input")
    remaining = min(request.content_length or 0, DRAIN_LIMIT)
    while stream is not None and remaining > 0:
        chunk = stream.read(min(65536, remaining))
        if not chunk:
            break
        remaining -= len(chunk)


class ProblemSchema(Schema):
    """An RFC 9457 problem, as every error is answered (documentation only)."""

    type = fields.String(metadata={"description": "https://guandu.example/problems/<code in lowercase-dashes>"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String(metadata={"description": "stable error code, e.g. ORG_NOT_FOUND"})
    correlation_id = fields.String()
    errors = fields.Dict(metadata={"description": "field errors (422)"})


class ProblemApi(Api):
    """flask-smorest's Api, except that its errors are problems, not its own JSON shape."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        return http_error_response(error)

    def _register_responses(self) -> None:
        """flask-smorest documents its error responses (one per status, and `default`) as application/json;
        they are answered as problems, so the document says so."""
        super()._register_responses()
        for response in self.spec.components.responses_lazy.values():
            if "content" in response:
                response["content"] = {PROBLEM_JSON: next(iter(response["content"].values()))}
