"""What load balancers and ops read on the API port: `/healthz` (the process lives), `/readyz` (every service the
gateway routes to has consumers on its RPC queue); and the docs UI's assets, served locally (no CDN on an
intranet). `/metrics` is on the ops port (METRICS_PORT, see gunicorn.conf.py), never the API's."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from gateway import rpc

ROUTED_SERVICES = ("organization",)
DOCS_ASSETS = "/docs/assets/"

blp = Blueprint("ops", __name__)


@blp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz() -> tuple[Response, int]:
    services = {name: "up" if rpc.current().service_up(name) else "down" for name in ROUTED_SERVICES}
    ready = all(state == "up" for state in services.values())
    return jsonify(status="ready" if ready else "not ready", services=services), 200 if ready else 503


@blp.get(DOCS_ASSETS + "<path:filename>")
def docs_asset(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename)
