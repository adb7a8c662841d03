"""What load balancers and ops read on the API port: `/healthz` (the process lives), `/readyz` (the state of every
service the gateway routes to, and ready while those it cannot serve anyone without are up: organization, which
authenticates every request; a whistle service that is down makes only its own routes answer 503, so the
gateway stays in the load balancer for everything else); and the docs UI's assets, served locally (no CDN on an
intranet). `/metrics` is on the ops port (METRICS_PORT, see gunicorn.conf.py), never the API's."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from gateway import rpc

ROUTED_SERVICES = ("organization", "whistle")
REQUIRED_SERVICES = ("organization",)
DOCS_ASSETS = "/docs/assets/"

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz() -> tuple[Response, int]:
    services = {name: "up" if rpc.current().service_up(name) else "down" for name in ROUTED_SERVICES}
    ready = all(services[name] == "up" for name in REQUIRED_SERVICES)
    return jsonify(status="ready" if ready else "not ready", services=services), 200 if ready else 503


@blp.get(DOCS_ASSETS + "<path:filename>")
def docs_asset(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename)
