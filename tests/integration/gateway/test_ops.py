"""What ops and front-end developers see: health, readiness, metrics per route, the OpenAPI document, the docs
UI on local assets, and the correlation id on every answer."""

import re

from gateway.metrics import exposition
from kit.context import ROLES
from tests.integration.gateway.conftest import is_problem, login
from tests.integration.gateway.fake_organization import password_of

ROUTES = {
    ("/api/v1/auth/token", "post"),
    ("/api/v1/auth/refresh", "post"),
    ("/api/v1/auth/logout", "post"),
    ("/api/v1/me", "get"),
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
    ("/api/v1/departments", "get"),
}
ROUTES |= {  # members (gateway/api/members.py)
    ("/api/v1/members", "get"),
    ("/api/v1/members", "post"),
    ("/api/v1/members/{member_id}", "get"),
    ("/api/v1/members/{member_id}", "patch"),
    ("/api/v1/members/{member_id}/transfer", "post"),
    ("/api/v1/members/{member_id}/leave", "post"),
    ("/api/v1/members/{member_id}/transfers", "get"),
    ("/api/v1/members/import", "post"),
    ("/api/v1/members/export", "get"),
    ("/api/v1/access-log", "get"),
}
# dual registration, service reports, alliances, star ratings (gateway/api/engagement.py)
ROUTES.update(
    {
        ("/api/v1/dual-registrations", "get"),
        ("/api/v1/dual-registrations", "post"),
        ("/api/v1/dual-registrations/{registration_id}", "get"),
        ("/api/v1/dual-registrations/{registration_id}/end", "post"),
        ("/api/v1/service-reports", "get"),
        ("/api/v1/service-reports", "post"),
        ("/api/v1/service-reports/{report_id}", "get"),
        ("/api/v1/service-reports/{report_id}/confirm", "post"),
        ("/api/v1/alliances", "get"),
        ("/api/v1/alliances", "post"),
        ("/api/v1/alliances/{membership_id}", "get"),
        ("/api/v1/alliances/{membership_id}/leave", "post"),
        ("/api/v1/star-ratings", "get"),
        ("/api/v1/star-ratings", "post"),
        ("/api/v1/star-ratings/counts", "get"),
        ("/api/v1/star-ratings/{branch_id}", "get"),
        ("/api/v1/star-ratings/{branch_id}/history", "get"),
    }
)
ROUTES |= {  # four lists, street modules, accounts' life cycle
    ("/api/v1/four-lists", "get"),
    ("/api/v1/four-lists", "post"),
    ("/api/v1/four-lists/{item_id}", "get"),
    ("/api/v1/four-lists/{item_id}", "patch"),
    ("/api/v1/four-lists/{item_id}/status", "post"),
    ("/api/v1/four-lists/{item_id}/notes", "post"),
    ("/api/v1/streets/{street_id}/modules", "get"),
    ("/api/v1/streets/{street_id}/modules", "put"),
    ("/api/v1/accounts", "get"),
    ("/api/v1/accounts", "post"),
    ("/api/v1/accounts/{account_id}", "get"),
    ("/api/v1/accounts/{account_id}/disable", "post"),
    ("/api/v1/accounts/{account_id}/enable", "post"),
    ("/api/v1/accounts/{account_id}/reset-password", "post"),
}
ROUTES |= {  # whistles (gateway/api/whistles.py)
    ("/api/v1/whistle-kinds", "get"),
    ("/api/v1/situations", "get"),
    ("/api/v1/catalogue-versions", "post"),
    ("/api/v1/catalogue-versions/{version}", "get"),
    ("/api/v1/whistles", "get"),
    ("/api/v1/whistles", "post"),
    ("/api/v1/whistles/{whistle_id}", "get"),
    ("/api/v1/whistles/{whistle_id}/photos/{key}", "get"),
    ("/api/v1/whistles/{whistle_id}/history", "get"),
    ("/api/v1/whistles/{whistle_id}/history/verify", "get"),
    ("/api/v1/whistle-stats", "get"),
    ("/api/v1/notification-deliveries", "get"),
    *(
        (f"/api/v1/whistles/{{whistle_id}}/{action}", "post")
        for action in (
            *("blow", "report-in", "send-back", "redispatch", "handle"),
            *("feedback", "assess", "close", "reopen"),
            *("approve-extension", "refuse-extension", "pause", "resume", "merge"),
        )
    ),
    ("/api/v1/whistles/{whistle_id}/duplicates", "get"),
    ("/open311/v2/services.json", "get"),
    ("/open311/v2/requests.json", "get"),
    ("/open311/v2/requests.json", "post"),
    ("/open311/v2/requests/{service_request_id}.json", "get"),
}
WRITERS = ["district_admin", "street_secretary", "community_secretary"]


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready", "services": {"organization": "up", "whistle": "down"}}


def test_metrics_are_counted_per_route_rule_not_per_path(client, store):
    admin = login(client, "admin")
    for code in ("liujia", "guanshang"):
        client.get(f"/api/v1/orgs/{store.id_of(code)}", headers=admin)
    client.get("/api/v1/orgs/not-a-uuid", headers=admin)
    is_problem(client.get("/metrics"), 404)  # not on the API's port: the ops port serves it (gunicorn.conf.py)
    text = exposition().decode()
    assert re.search(
        r'guandu_http_requests_total\{method="GET",route="/api/v1/orgs/<uuid:org_id>",status="200"\} '
        r"([2-9]|\d\d+)\.0",
        text,
    )
    assert 'guandu_http_request_duration_seconds_count{method="POST",route="/api/v1/auth/token"}' in text
    assert 'route="unmatched",status="404"' in text
    assert store.id_of("liujia") not in text
    assert 'guandu_gateway_rpc_calls_total{method="get_org",outcome="ok",service="organization"}' in text


def test_the_openapi_document_lists_every_route_with_its_roles(client):
    spec = client.get("/openapi.json").json
    operations = {
        (path, method): op
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method != "parameters"
    }
    assert set(operations) == ROUTES
    for (path, method), operation in operations.items():
        assert operation["x-roles"], (path, method)
        assert "Roles allowed" in operation["description"]
    assert operations[("/api/v1/orgs", "post")]["x-roles"] == WRITERS
    assert operations[("/api/v1/departments", "get")]["x-roles"] == list(ROLES)  # every role: not scoped
    assert operations[("/api/v1/orgs/{org_id}", "get")]["security"] == [{"bearerAuth": []}]
    assert operations[("/api/v1/auth/token", "post")]["security"] == []
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_docs_ui_uses_only_assets_the_gateway_serves(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(sources) == 3
    assert not re.search(r"https?://|//cdn", html)
    for source in sources:
        assert source.startswith("/docs/assets/")
        assert client.get(source).status_code == 200, source
    assert '"/openapi.json"' in html


def test_the_correlation_id_is_the_clients_when_sensible_and_is_echoed(client):
    assert client.get("/healthz", headers={"X-Correlation-ID": "req-42"}).headers["X-Correlation-ID"] == "req-42"
    replaced = client.get("/healthz", headers={"X-Correlation-ID": "no spaces, no <markup>" + "x" * 64})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Correlation-ID"])


def test_nothing_is_sniffed_and_nothing_the_api_answers_is_cached(client):
    """Tokens, revealed personal data and every other API answer are read with someone's rights: no cache on
    the way keeps them (`no-store`), and no browser guesses another content type than the one sent."""
    token = client.post("/api/v1/auth/token", json={"username": "liujia", "password": password_of("liujia")})
    refused = client.get("/api/v1/orgs")
    missing = client.get("/api/v1/no-such-route")
    for answer in (token, refused, missing):
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path
    for answer in (token, refused, missing, client.get("/healthz"), client.get("/openapi.json")):
        assert answer.headers["X-Content-Type-Options"] == "nosniff", answer.request.path
