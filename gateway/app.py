"""The HTTP gateway: `create_app()` builds the Flask app gunicorn serves, one per worker process
(`gunicorn -c gateway/gunicorn.conf.py 'gateway.app:create_app()'`)."""

from __future__ import annotations

import structlog
from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import auth, bodies, inputs, limits, metrics, modules, rpc
from gateway.api import accounts, four_lists, members, open311, ops, tree, whistles
from gateway.api import auth as auth_api
from gateway.api import engagement as engagement_api
from gateway.api import modules as modules_api
from gateway.config import GatewayConfig
from gateway.errors import ProblemApi, service_error_response
from gateway.headers import CORRELATION_HEADER, correlation_id
from kit.errors import ServiceError

API_PREFIX = "/api/"


def create_app(config: GatewayConfig | None = None) -> Flask:
    config = config or GatewayConfig.from_env()
    app = Flask("gateway")
    app.config.update(
        GATEWAY=config,
        MAX_CONTENT_LENGTH=config.max_content_length,
        API_TITLE="Guandu API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=ops.DOCS_ASSETS,
    )
    if config.trusted_proxies:  # the client's address as the nearest trusted proxy saw it
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    metrics.init_app(app)  # first, so that it times everything that follows
    app.before_request(_bind_correlation_id)
    app.before_request(_bodies_as_registered)
    app.after_request(_response_headers)
    limits.init_app(app, config)
    rpc.init_app(app, config)
    auth.init_app(app, config)
    modules.init_app(app, config)  # after auth: gating a route needs the caller's scope

    api = ProblemApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    api.register_blueprint(auth_api.blp)
    for blueprint in tree.BLUEPRINTS:  # the tree and the departments' list
        api.register_blueprint(blueprint)
    api.register_blueprint(members.blp)
    for blueprint in engagement_api.BLUEPRINTS:
        api.register_blueprint(blueprint)
    api.register_blueprint(four_lists.blp)
    api.register_blueprint(modules_api.blp)
    api.register_blueprint(accounts.blp)
    for blueprint in whistles.BLUEPRINTS:  # the catalogue, and whistles with an action route per transition
        api.register_blueprint(blueprint)
    api.register_blueprint(open311.blp)
    app.register_blueprint(ops.blp)
    limits.limiter.exempt(ops.blp)
    app.register_error_handler(ServiceError, service_error_response)
    return app


def _bind_correlation_id() -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id())


def _bodies_as_registered() -> None:
    """Each route's body as `gateway.bodies` registers it: JSON up to MAX_CONTENT_LENGTH unless the route says
    otherwise. A body of another type would be read as no body at all and answered with a puzzling 422, so it is
    415; what no route takes (deep nesting, NUL, text that is not Unicode) is refused here, once for every route."""
    rule = bodies.rule_for(request.endpoint)
    if rule.max_bytes is not None:
        request.max_content_length = rule.max_bytes
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()  # declared too large: refused before anything reads it
    if request.content_length and not request.is_json:
        if request.mimetype not in rule.media_types:
            raise UnsupportedMediaType(f"send the body as {' or '.join(sorted(rule.media_types))}")
        inputs.check_request(json_body=False)
        return  # a form or an upload: its view reads and checks its fields
    inputs.check_request(json_body=bool(request.content_length))


def _response_headers(response: Response) -> Response:
    """The correlation id on every answer; no content sniffing anywhere; and no caching of what the API
    answers (tokens, unmasked personal data, anything read with someone's rights), by any cache on the way."""
    response.headers[CORRELATION_HEADER] = correlation_id()
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.path.startswith(API_PREFIX):
        response.headers["Cache-Control"] = "no-store"
    return response
