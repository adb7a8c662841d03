"""What front-end developers and ops see: the OpenAPI document, the docs UI, metrics, health."""

import re

from tests.e2e.test_orgs import is_problem

ORG_ROUTES = {
    ("/api/v1/orgs", "get"),
    ("/api/v1/orgs", "post"),
    ("/api/v1/orgs/{org_id}", "get"),
    ("/api/v1/orgs/{org_id}", "patch"),
    ("/api/v1/orgs/{org_id}/children", "get"),
    ("/api/v1/orgs/{org_id}/subtree", "get"),
    ("/api/v1/orgs/{org_id}/ancestors", "get"),
    ("/api/v1/orgs/{org_id}/counts", "get"),
    ("/api/v1/orgs/{org_id}/move", "post"),
    ("/api/v1/orgs/{org_id}/close", "post"),
}


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


def test_metrics_count_requests_per_route(as_user, anonymous):
    as_user("district.admin").get("/api/v1/orgs")
    text = anonymous.get("/metrics").text
    assert "/api/v1/orgs" in text
    assert "guandu_http" in text


def test_unknown_routes_are_problems_too(anonymous):
    is_problem(anonymous.get("/api/v1/nothing-here"), 404)


def test_health_and_readiness(anonymous):
    assert anonymous.get("/healthz").status_code == 200
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200
    assert "organization" in ready.text
