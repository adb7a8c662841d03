"""Every error is an RFC 9457 problem with a stable code; one table maps a service's error kinds to statuses."""

import json

import pytest
from flask import Flask
from webargs.flaskparser import abort
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound, RequestEntityTooLarge

from gateway.app import create_app
from gateway.config import GatewayConfig
from gateway.errors import PROBLEM_JSON, http_error_response, problem, problem_type, service_error_response
from kit.errors import HTTP_STATUS, TITLES, ServiceError


@pytest.fixture
def request_context():
    with Flask(__name__).test_request_context(headers={"X-Correlation-ID": "corr-1"}) as context:
        yield context


def body_of(response) -> dict:
    assert response.mimetype == "application/problem+json"
    return json.loads(response.get_data())


def test_a_problem_has_the_rfc_9457_members_and_our_code(request_context):
    response = problem(409, "ORG_STALE", "the node changed", errors={"version": ["expected 3"]})
    assert response.status_code == 409
    assert body_of(response) == {
        "type": "https://guandu.example/problems/org-stale",
        "title": "Conflict",
        "status": 409,
        "detail": "the node changed",
        "code": "ORG_STALE",
        "correlation_id": "corr-1",
        "errors": {"version": ["expected 3"]},
    }
    assert "errors" not in body_of(problem(404, "NOT_FOUND", "nothing here"))


def test_problem_types_are_the_code_in_lowercase_dashes():
    assert problem_type("AUTH_INVALID_CREDENTIALS") == "https://guandu.example/problems/auth-invalid-credentials"


@pytest.mark.parametrize("kind", sorted(HTTP_STATUS))
def test_each_service_error_kind_has_its_status_and_title(request_context, kind):
    response = service_error_response(ServiceError(kind, "SOME_CODE", "what happened", {"f": ["bad"]}))
    body = body_of(response)
    assert response.status_code == body["status"] == HTTP_STATUS[kind]
    assert (body["title"], body["code"], body["detail"]) == (TITLES[kind], "SOME_CODE", "what happened")
    assert body["errors"] == {"f": ["bad"]}


def test_a_401_says_how_to_authenticate(request_context):
    response = service_error_response(ServiceError("unauthenticated", "TOKEN_MISSING", "send a token"))
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_http_errors_become_problems(request_context):
    assert body_of(http_error_response(NotFound()))["code"] == "NOT_FOUND"
    too_large = http_error_response(RequestEntityTooLarge())
    assert (too_large.status_code, body_of(too_large)["code"]) == (413, "BODY_TOO_LARGE")
    not_allowed = http_error_response(MethodNotAllowed(valid_methods=["GET", "POST"]))
    assert (not_allowed.status_code, not_allowed.headers["Allow"]) == (405, "GET, POST")
    assert body_of(http_error_response(InternalServerError()))["detail"] == "internal error"


def webargs_error(status: int, exc: Exception, **data) -> HTTPException:
    try:
        abort(status, exc=exc, **data)
    except HTTPException as error:
        return error
    raise AssertionError("abort did not raise")


def test_field_errors_from_the_schemas_are_kept(request_context):
    error = webargs_error(422, ValueError("x"), messages={"json": {"name": ["Missing data for required field."]}})
    body = body_of(http_error_response(error))
    assert (body["code"], body["errors"]) == (
        "VALIDATION_FAILED",
        {"json": {"name": ["Missing data for required field."]}},
    )


def test_a_body_that_is_not_json_is_said_so(request_context):
    error = webargs_error(
        400, json.JSONDecodeError("Expecting value", "{", 1), messages={"json": ["Invalid JSON body."]}
    )
    body = body_of(http_error_response(error))
    assert (body["status"], body["code"]) == (400, "BODY_NOT_JSON")
    assert "errors" not in body


def test_an_unexpected_exception_is_a_500_that_shows_nothing_of_it():
    app = create_app(GatewayConfig(jwt_keys=(("k", "k" * 40),)))

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals at /srv/app.py line 12")

    response = app.test_client().get("/boom")
    body = body_of(response)
    assert (response.status_code, body["code"], body["detail"]) == (500, "INTERNAL", "internal error")
    assert "secret" not in response.get_data(as_text=True)
    assert body["correlation_id"] == response.headers["X-Correlation-ID"]


def test_the_openapi_document_says_errors_are_problems_and_successes_json():
    app = create_app(GatewayConfig(jwt_keys=(("k", "k" * 40),)))
    spec = app.test_client().get("/openapi.json").json
    errors = spec["components"]["responses"]
    assert errors and all(list(r.get("content", {PROBLEM_JSON: None})) == [PROBLEM_JSON] for r in errors.values())
    created = spec["paths"]["/api/v1/orgs"]["post"]["responses"]["201"]
    assert list(created["content"]) == ["application/json"]
