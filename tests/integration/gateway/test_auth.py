"""Sessions and who may do what: tokens, refresh rotation, logout, 401s, 403s and disabled accounts."""

import uuid
from datetime import UTC, datetime

import jwt
import pytest

from gateway.auth import Tokens
from gateway.config import GatewayConfig
from kit.clock import FixedClock
from kit.testing import wait_for
from tests.integration.gateway.conftest import JWT_KEYS, is_problem, login
from tests.integration.gateway.fake_organization import password_of


def test_log_in_see_yourself_refresh_and_log_out(client, store):
    response = client.post("/api/v1/auth/token", json={"username": "liujia", "password": password_of("liujia")})
    assert response.status_code == 200
    session = response.json
    assert session["token_type"] == "Bearer"
    assert 0 < session["expires_in"] <= 900
    assert session["account"]["scope_path"] == "/gd/liujia/"
    assert "password" not in response.get_data(as_text=True)
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert claims["sub"] == store.account_of("liujia")["account_id"]
    assert jwt.get_unverified_header(session["access_token"])["kid"] == "k2"  # the first key signs
    assert [call.ctx.role for call in store.calls_of("authenticate")] == ["anonymous"]

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {session['access_token']}"})
    assert me.status_code == 200
    assert me.json["username"] == "liujia"
    assert me.json["modules"] == ["whistle", "liujia_module"]  # what the caller's street runs, for its menus
    assert store.calls_of("modules_for_scope")[-1].ctx.role == "system"
    assert store.calls_of("account_state")[-1].ctx.role == "system"

    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json["refresh_token"] != session["refresh_token"]
    assert refreshed.json["access_token"]
    # the old refresh token was rotated away
    is_problem(
        client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}),
        401,
        "AUTH_REFRESH_INVALID",
    )

    logout = client.post("/api/v1/auth/logout", json={"refresh_token": refreshed.json["refresh_token"]})
    assert logout.status_code == 204
    is_problem(client.post("/api/v1/auth/refresh", json={"refresh_token": refreshed.json["refresh_token"]}), 401)


def test_wrong_passwords_are_401(client):
    body = is_problem(
        client.post("/api/v1/auth/token", json={"username": "liujia", "password": "nope"}),
        401,
        "AUTH_INVALID_CREDENTIALS",
    )
    assert "nope" not in str(body)


def test_requests_without_a_valid_token_are_401_with_a_bearer_challenge(client, store, config):
    no_token = client.get("/api/v1/orgs")
    is_problem(no_token, 401, "TOKEN_MISSING")
    assert no_token.headers["WWW-Authenticate"] == "Bearer"
    account_id = store.account_of("admin")["account_id"]
    stale = Tokens(config, FixedClock(datetime(2020, 1, 1, tzinfo=UTC))).issue(account_id)
    strange_key = Tokens(GatewayConfig(jwt_keys=(("k9", "z" * 40),)), FixedClock(datetime.now(UTC))).issue(account_id)
    other_audience = Tokens(GatewayConfig(jwt_keys=JWT_KEYS, jwt_audience="elsewhere"), FixedClock(datetime.now(UTC)))
    cases = {
        "Bearer not.a.jwt": "TOKEN_INVALID",
        f"Bearer {stale}": "TOKEN_EXPIRED",
        f"Bearer {strange_key}": "TOKEN_INVALID",
        f"Bearer {other_audience.issue(account_id)}": "TOKEN_INVALID",
        "Basic YWRtaW46cHc=": "TOKEN_MISSING",
    }
    for authorization, code in cases.items():
        response = client.get("/api/v1/me", headers={"Authorization": authorization})
        is_problem(response, 401, code)
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert not store.calls_of("account_state")  # a bad token never costs a service call


def test_a_token_of_an_account_that_no_longer_exists_is_401(client, store, config):
    token = Tokens(config, FixedClock(datetime.now(UTC))).issue("9d7c1a52-0000-4000-8000-000000000000")
    is_problem(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "ACCOUNT_UNKNOWN")


def test_a_role_that_may_never_change_the_tree_is_403_before_any_rpc(client, store):
    member = login(client, "member")
    body = {"parent_id": store.id_of("c01"), "code": "a1", "name": "x", "level": "area"}
    is_problem(client.post("/api/v1/orgs", json=body, headers=member), 403, "ROLE_FORBIDDEN")
    org = store.id_of("c01")
    is_problem(client.patch(f"/api/v1/orgs/{org}", json={"name": "y", "version": 1}, headers=member), 403)
    is_problem(client.post(f"/api/v1/orgs/{org}/close", json={"version": 1}, headers=member), 403)
    assert not {"create_org", "rename_org", "close_org"} & {call.method for call in store.calls}
    assert client.get(f"/api/v1/orgs/{org}", headers=member).status_code == 200  # reading is fine


def test_a_disabled_account_stops_working_once_its_cached_state_expires(make_client, organization, store):
    client = make_client(account_state_ttl=1.0)
    headers = login(client, "liujia")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    store.account_of("liujia")["status"] = "disabled"
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # still cached, for at most a second
    wait_for(
        lambda: client.get("/api/v1/me", headers=headers).status_code == 401,
        timeout=10,
        what="the disabled account refused",
    )
    is_problem(client.get("/api/v1/orgs", headers=headers), 401, "ACCOUNT_DISABLED")


def test_the_caller_context_comes_from_the_accounts_state_not_the_token(make_client, organization, store):
    client = make_client(account_state_ttl=0)
    headers = login(client, "liujia")
    store.account_of("liujia")["scope_path"] = "/gd/guanshang/"  # moved to another street since logging in
    response = client.get(f"/api/v1/orgs/{store.id_of('guanshang')}", headers=headers)
    assert response.status_code == 200
    ctx = store.calls_of("get_org")[-1].ctx
    assert (ctx.role, ctx.scope_path, ctx.account_id) == (
        "street_secretary",
        "/gd/guanshang/",
        store.account_of("liujia")["account_id"],
    )


def test_logging_in_is_rate_limited_per_client_ip_and_per_username(make_client, organization):
    client = make_client(login_rate_limit="3/minute")
    attempt = {"username": "liujia", "password": "wrong"}
    for _ in range(3):
        is_problem(client.post("/api/v1/auth/token", json=attempt), 401)
    limited = is_problem(client.post("/api/v1/auth/token", json=attempt), 429, "RATE_LIMITED")
    assert int(client.post("/api/v1/auth/token", json=attempt).headers["Retry-After"]) > 0
    assert limited["detail"].startswith("rate limit exceeded")

    # the same username from ever new addresses is limited too; another username from those is not
    for i in range(3):
        client.post(
            "/api/v1/auth/token", json={**attempt, "username": "admin"}, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}
        )
    is_problem(
        client.post(
            "/api/v1/auth/token", json={**attempt, "username": "admin"}, environ_base={"REMOTE_ADDR": "10.0.0.99"}
        ),
        429,
    )
    assert (
        client.post(
            "/api/v1/auth/token",
            json={"username": "guanshang", "password": password_of("guanshang")},
            environ_base={"REMOTE_ADDR": "10.0.0.98"},
        ).status_code
        == 200
    )


@pytest.mark.parametrize("trusted_proxies", [0, 1])
def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(
    make_client, organization, trusted_proxies
):
    client = make_client(login_rate_limit="2/minute", trusted_proxies=trusted_proxies)
    proxy = {"REMOTE_ADDR": "10.9.9.9"}
    for i in range(3):  # each from its own address per X-Forwarded-For, all through one proxy
        attempt = {"username": f"nobody-{i}", "password": "x"}
        headers = {"X-Forwarded-For": f"172.16.0.{i}"}
        status = client.post("/api/v1/auth/token", json=attempt, headers=headers, environ_base=proxy).status_code
    # Behind a trusted proxy, three clients made one attempt each; otherwise one client (the proxy) made three.
    assert status == (401 if trusted_proxies else 429)


def test_rate_limits_can_live_in_redis(make_client, organization):
    client = make_client(redis_url="redis://127.0.0.1:6379/0", login_rate_limit="2/minute")
    # Redis outlives the test: an address and a username of this run only
    a, b, c = uuid.uuid4().bytes[:3]
    address = {"REMOTE_ADDR": f"10.{a}.{b}.{c}"}
    attempt = {"username": f"nobody-{uuid.uuid4().hex}", "password": "x"}
    for _ in range(2):
        is_problem(client.post("/api/v1/auth/token", json=attempt, environ_base=address), 401)
    is_problem(client.post("/api/v1/auth/token", json=attempt, environ_base=address), 429)
