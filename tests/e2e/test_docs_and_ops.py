"""What front-end developers and ops see: the OpenAPI document, the docs UI, metrics, health."""

import re

import requests

from tests.e2e.test_orgs import is_problem
from tests.integration.gateway.test_ops import ROUTES

ORG_ROUTES = {(path, method) for path, method in ROUTES if path.startswith("/api/v1/orgs")}


def test_the_openapi_document_lists_the_org_routes_with_their_roles(anonymous):
    spec = anonymous.get("/openapi.json").json()
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops if method != "parameters"}
    assert documented >= ORG_ROUTES
    for path, method in ORG_ROUTES:
        roles = spec["paths"][path][method]["x-roles"]
        assert roles, (path, method)
    assert set(spec["paths"]["/api/v1/orgs"]["post"]["x-roles"]) == {
        "district_admin",
        "street_secretary",
        "community_secretary",
    }


def test_the_docs_ui_uses_only_local_assets(anonymous):
    page = anonymous.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    for source in sources:
        url = source if source.startswith("/") else "/docs/" + source
        assert anonymous.get(url).status_code == 200, source


def test_metrics_count_requests_per_route_on_the_ops_port_only(suite, as_user, anonymous):
    as_user("district.admin").get("/api/v1/orgs")
    port = suite.processes["gateway"].metrics_port
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "/api/v1/orgs" in text
    assert "guandu_http" in text
    is_problem(anonymous.get("/metrics"), 404)  # the API's port serves no metrics to its callers


def test_unknown_routes_are_problems_too(anonymous):
    is_problem(anonymous.get("/api/v1/nothing-here"), 404)


def test_health_and_readiness(anonymous):
    assert anonymous.get("/healthz").status_code == 200
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert "organization" in ready.text


def test_the_correlation_id_travels_from_http_through_rpc_into_logs_and_events(suite, as_user):
    import json
    import uuid

    from sqlalchemy import create_engine, select

    from kit.harness import wait_for
    from kit.orm import OutboxRow
    from tests.e2e.test_orgs import LIUJIA_C01

    correlation = f"e2e-{uuid.uuid4().hex}"
    response = as_user("district.admin").post(
        "/api/v1/orgs",
        headers={"X-Correlation-ID": correlation},
        json={"parent_id": LIUJIA_C01, "code": f"cid{uuid.uuid4().hex[:5]}", "name": "关联测试", "level": "area"},
    )
    assert response.status_code == 201
    assert response.headers["X-Correlation-ID"] == correlation

    def logged() -> bool:
        log = suite.processes["organization"].log_path.read_text(errors="replace")
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{") and correlation in line]
        return any(line.get("correlation_id") == correlation for line in lines)

    wait_for(logged, timeout=10, what="a JSON log line of the service with the request's correlation id")
    engine = create_engine(suite.env["ORGANIZATION_DATABASE_URL"])
    with engine.connect() as conn:
        bodies = [
            json.loads(b) for (b,) in conn.execute(select(OutboxRow.body).where(OutboxRow.body.contains(correlation)))
        ]
    engine.dispose()
    assert [b["correlationid"] for b in bodies] == [correlation]


def test_each_service_serves_its_own_metrics_and_probes(suite, as_user):

    as_user("liujia.secretary").get("/api/v1/orgs")
    port = suite.processes["organization"].metrics_port
    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'guandu_rpc_requests_total{method="list_orgs",outcome="ok",service="organization"}' in metrics
    assert "guandu_outbox_backlog" in metrics
    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"broker": True, "database": True, "serving": True}
