"""The org routes: each maps to its RPC, carries an idempotency key when it changes something, and answers
every bad input with a problem+json before any service is asked."""

import uuid

import pytest

from tests.integration.gateway.conftest import is_problem, login

DEPARTMENT_FIELDS = {"code": "water", "name": "水务局", "org_path": "/departments/water/"}


@pytest.fixture
def admin(client) -> dict[str, str]:
    return login(client, "admin")


def test_every_route_reaches_its_rpc(client, store, admin):
    liujia, c01 = store.id_of("liujia"), store.id_of("c01")
    listed = client.get("/api/v1/orgs", query_string={"level": "street", "limit": 10}, headers=admin)
    assert listed.status_code == 200
    assert {n["code"] for n in listed.json["items"]} == {"liujia", "guanshang", "slow", "buggy"}
    assert listed.json["next_cursor"] is None
    assert store.calls_of("list_orgs")[-1].args == ({"level": "street", "limit": 10, "sort": "code"},)

    assert client.get(f"/api/v1/orgs/{liujia}", headers=admin).json["org_path"] == "/gd/liujia/"
    children = client.get(f"/api/v1/orgs/{liujia}/children", headers=admin).json["items"]
    assert [c["code"] for c in children] == ["c01"]
    subtree = client.get(f"/api/v1/orgs/{liujia}/subtree", query_string={"depth": 2}, headers=admin).json
    assert [c["code"] for c in subtree["children"]] == ["c01"]
    assert store.calls_of("get_subtree")[-1].args == (liujia, 2)
    ancestors = client.get(f"/api/v1/orgs/{c01}/ancestors", headers=admin).json["items"]
    assert [a["code"] for a in ancestors] == ["gd", "liujia"]
    assert client.get(f"/api/v1/orgs/{liujia}/counts", headers=admin).json == {
        "org_id": liujia,
        "counts": {"street": 1, "community": 1},
    }

    created = client.post(
        "/api/v1/orgs", json={"parent_id": c01, "code": "a1", "name": "一组", "level": "area"}, headers=admin
    )
    assert created.status_code == 201
    node = created.json
    assert created.headers["Location"].endswith(f"/api/v1/orgs/{node['id']}")
    assert store.calls_of("create_org")[-1].args[0] == {
        "parent_id": c01,
        "code": "a1",
        "name": "一组",
        "level": "area",
        "location": None,
        "brand": None,
    }
    renamed = client.patch(f"/api/v1/orgs/{node['id']}", json={"name": "二组", "version": 1}, headers=admin)
    assert (renamed.status_code, renamed.json["name"], renamed.json["version"]) == (200, "二组", 2)
    moved = client.post(f"/api/v1/orgs/{node['id']}/move", json={"new_parent_id": liujia, "version": 2}, headers=admin)
    assert moved.json["org_path"] == "/gd/liujia/a1/"
    closed = client.post(f"/api/v1/orgs/{node['id']}/close", json={"version": 3}, headers=admin)
    assert closed.json["status"] == "closed"


@pytest.mark.parametrize("username", ["admin", "liujia", "member"])
def test_every_role_lists_the_departments_the_same_unscoped_way(client, store, username):
    listed = client.get("/api/v1/departments", headers=login(client, username))
    assert listed.status_code == 200
    assert listed.json == {"items": [{"id": listed.json["items"][0]["id"], **DEPARTMENT_FIELDS}]}
    assert store.calls_of("list_departments")[-1].ctx.account_id == store.account_of(username)["account_id"]


def test_the_departments_need_a_token(client, store):
    is_problem(client.get("/api/v1/departments"), 401, "TOKEN_MISSING")
    assert not store.calls_of("list_departments")


def test_service_errors_keep_their_code_and_status(client, store, admin):
    liujia_secretary = login(client, "liujia")
    is_problem(client.get(f"/api/v1/orgs/{store.id_of('guanshang')}", headers=liujia_secretary), 404, "ORG_NOT_FOUND")
    is_problem(
        client.patch(f"/api/v1/orgs/{store.id_of('c01')}", json={"name": "x", "version": 7}, headers=admin),
        409,
        "ORG_STALE",
    )
    body = {"parent_id": store.id_of("c01"), "code": "s1", "name": "x", "level": "street"}
    problem = is_problem(client.post("/api/v1/orgs", json=body, headers=admin), 422, "ORG_LEVEL_NOT_ALLOWED")
    assert problem["errors"] == {"level": ["not here"]}


def test_a_bug_in_the_service_is_a_500_that_shows_nothing_of_it(client, store, admin):
    problem = is_problem(client.get(f"/api/v1/orgs/{store.id_of('buggy')}", headers=admin), 500, "INTERNAL")
    assert "secret" not in str(problem) and "KeyError" not in str(problem)


def test_ids_that_are_not_uuids_are_404_without_an_rpc(client, admin, store):
    is_problem(client.get("/api/v1/orgs/not-a-uuid", headers=admin), 404, "NOT_FOUND")
    is_problem(client.post("/api/v1/orgs/12/move", json={}, headers=admin), 404)
    assert not store.calls_of("get_org") and not store.calls_of("move_org")


def test_the_clients_idempotency_key_is_passed_through(client, store, admin):
    body = {"parent_id": store.id_of("c01"), "code": "k1", "name": "幂等", "level": "area"}
    first = client.post("/api/v1/orgs", json=body, headers={**admin, "Idempotency-Key": "order-42"})
    again = client.post("/api/v1/orgs", json=body, headers={**admin, "Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"]
    assert [call.args[-1] for call in store.calls_of("create_org")] == ["order-42", "order-42"]
    client.post(
        f"/api/v1/orgs/{first.json['id']}/close", json={"version": 1}, headers={**admin, "Idempotency-Key": "close-1"}
    )
    assert store.calls_of("close_org")[-1].args[-1] == "close-1"


def test_without_a_key_each_request_gets_its_own(client, store, admin):
    for code in ("g1", "g2"):
        body = {"parent_id": store.id_of("c01"), "code": code, "name": "x", "level": "area"}
        assert client.post("/api/v1/orgs", json=body, headers=admin).status_code == 201
    first, second = (call.args[-1] for call in store.calls_of("create_org"))
    assert first != second
    assert uuid.UUID(first) and uuid.UUID(second)


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "ключ"])
def test_a_malformed_idempotency_key_is_400_before_any_rpc(client, store, admin, key):
    body = {"parent_id": store.id_of("c01"), "code": "b1", "name": "x", "level": "area"}
    response = client.post("/api/v1/orgs", json=body, headers={**admin, "Idempotency-Key": key})
    is_problem(response, 400, "IDEMPOTENCY_KEY_INVALID")
    assert not store.calls_of("create_org")


GOOD = {"code": "z1", "name": "测试", "level": "area"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"parent_id": 12}, "parent_id"),  # wrong type
        ({"level": ["area"]}, "level"),  # wrong type
        ({"name": None}, "name"),  # wrong type
        ({"colour": "red"}, "colour"),  # unknown field
        ({"code": "Bad Code"}, "code"),
    ],
)
def test_bad_bodies_are_422_with_field_errors(client, store, admin, change, field):
    body = {"parent_id": store.id_of("c01"), **GOOD, **change}
    problem = is_problem(client.post("/api/v1/orgs", json=body, headers=admin), 422, "VALIDATION_FAILED")
    assert field in problem["errors"]["json"]
    assert not store.calls_of("create_org")


def test_missing_fields_are_422(client, admin, store):
    problem = is_problem(client.post("/api/v1/orgs", json={"name": "x"}, headers=admin), 422)
    assert set(problem["errors"]["json"]) == {"parent_id", "code", "level"}
    is_problem(client.post("/api/v1/orgs", headers=admin), 422)  # no body at all


def test_bad_query_parameters_are_422(client, admin, store):
    for query in ({"limit": 1000}, {"sort": "password"}, {"colour": "red"}, {"limit": "many"}):
        is_problem(client.get("/api/v1/orgs", query_string=query, headers=admin), 422, "VALIDATION_FAILED")
    is_problem(client.get(f"/api/v1/orgs/{store.id_of('gd')}/subtree", query_string={"depth": 9}, headers=admin), 422)
    assert not store.calls_of("list_orgs") and not store.calls_of("get_subtree")


def test_malformed_json_is_400(client, admin):
    response = client.post("/api/v1/orgs", data=b'{"parent_id": ', content_type="application/json", headers=admin)
    assert "errors" not in is_problem(response, 400, "BODY_NOT_JSON")


def test_a_body_that_is_not_json_is_415(client, admin):
    response = client.post("/api/v1/orgs", data="parent_id=1", content_type="text/plain", headers=admin)
    is_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_a_body_over_the_limit_is_413(make_client, organization, store):
    client = make_client(max_content_length=1024)
    admin = login(client, "admin")
    body = {"parent_id": store.id_of("c01"), **GOOD, "name": "x" * 2000}
    is_problem(client.post("/api/v1/orgs", json=body, headers=admin), 413, "BODY_TOO_LARGE")
    assert not store.calls_of("create_org")
    # the login route's rate limit reads the username from the body: the limit holds there too
    is_problem(client.post("/api/v1/auth/token", json={"username": "x" * 2000, "password": "y"}), 413)


def test_unknown_routes_and_methods_are_problems(client, admin):
    is_problem(client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    response = client.delete("/api/v1/orgs", headers=admin)
    is_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
