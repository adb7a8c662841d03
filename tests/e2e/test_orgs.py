"""The organisation tree over HTTP, as each role sees it."""

import uuid

import pytest

from kit.demo_tree import departments
from organization.demo.__main__ import node_id

LIUJIA = node_id("/gd/liujia/")
LIUJIA_C01 = node_id("/gd/liujia/c01/")
GUANSHANG = node_id("/gd/guanshang/")
GUANSHANG_C01 = node_id("/gd/guanshang/c01/")
DISTRICT = node_id("/gd/")
PROBLEM = "application/problem+json"


def is_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["correlation_id"]
    if code:
        assert body["code"] == code, body
    return body


def test_a_street_secretary_sees_their_communities(as_user):
    liujia = as_user("liujia.secretary")
    response = liujia.get("/api/v1/orgs", params={"level": "community", "limit": 100})
    assert response.status_code == 200
    names = {c["name"] for c in response.json()["items"]}
    assert len(names) == 7
    assert "六甲社区" in names
    assert all(c["street_code"] == "liujia" for c in response.json()["items"])


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/orgs/{GUANSHANG}",
        f"/api/v1/orgs/{GUANSHANG}/children",
        f"/api/v1/orgs/{GUANSHANG_C01}/subtree?depth=2",
        f"/api/v1/orgs/{GUANSHANG_C01}/ancestors",
        f"/api/v1/orgs/{GUANSHANG}/counts",
    ],
)
def test_another_streets_nodes_do_not_exist_for_them(as_user, path):
    is_problem(as_user("liujia.secretary").get(path), 404, "ORG_NOT_FOUND")


def test_lists_show_nothing_of_another_street(as_user):
    liujia = as_user("liujia.secretary")
    for params in ({"street_code": "guanshang"}, {"q": "关上"}, {"level": "street"}):
        items = liujia.get("/api/v1/orgs", params={**params, "limit": 100}).json()["items"]
        assert all(i["org_path"].startswith("/gd/liujia/") for i in items), params
    assert [i["code"] for i in liujia.get("/api/v1/orgs", params={"level": "street"}).json()["items"]] == ["liujia"]
    ancestors = liujia.get(f"/api/v1/orgs/{LIUJIA_C01}/ancestors").json()["items"]
    assert [a["code"] for a in ancestors] == ["liujia"]


def test_moving_another_streets_nodes_is_not_found(as_user):
    liujia = as_user("liujia.secretary")
    is_problem(
        liujia.post(f"/api/v1/orgs/{GUANSHANG_C01}/move", json={"new_parent_id": LIUJIA, "version": 1}),
        404,
        "ORG_NOT_FOUND",
    )
    is_problem(
        liujia.post(f"/api/v1/orgs/{LIUJIA_C01}/move", json={"new_parent_id": GUANSHANG, "version": 1}),
        404,
        "ORG_NOT_FOUND",
    )


def test_a_community_secretary_creating_a_street_is_forbidden(as_user):
    body = {"parent_id": DISTRICT, "code": "newstreet", "name": "新街道", "level": "street"}
    is_problem(as_user("liujia.c01.secretary").post("/api/v1/orgs", json=body), 403, "ORG_ROLE_CANNOT_CREATE_LEVEL")


def test_a_department_may_never_create(as_user):
    body = {"parent_id": LIUJIA_C01, "code": "a9", "name": "x", "level": "area"}
    is_problem(as_user("water.desk").post("/api/v1/orgs", json=body), 403)


def test_the_district_admin_sees_the_whole_tree(as_user):
    admin = as_user("district.admin")
    counts = admin.get(f"/api/v1/orgs/{DISTRICT}/counts").json()["counts"]
    assert counts["street"] == 8
    assert counts["community"] == 68
    subtree = admin.get(f"/api/v1/orgs/{DISTRICT}/subtree", params={"depth": 1}).json()
    assert len(subtree["children"]) == 8


def test_create_rename_move_close_over_http(as_user):
    admin = as_user("district.admin")
    code = f"t{uuid.uuid4().hex[:6]}"
    created = admin.post(
        "/api/v1/orgs", json={"parent_id": LIUJIA_C01, "code": code, "name": "试点小组", "level": "area"}
    )
    assert created.status_code == 201, created.text
    node = created.json()
    assert created.headers["Location"].endswith(f"/api/v1/orgs/{node['id']}")
    renamed = admin.patch(f"/api/v1/orgs/{node['id']}", json={"name": "试点一组", "version": 1})
    assert renamed.status_code == 200
    assert renamed.json()["version"] == 2
    is_problem(admin.patch(f"/api/v1/orgs/{node['id']}", json={"name": "x", "version": 1}), 409, "ORG_STALE")
    moved = admin.post(f"/api/v1/orgs/{node['id']}/move", json={"new_parent_id": GUANSHANG_C01, "version": 2})
    assert moved.status_code == 200
    assert moved.json()["org_path"] == f"/gd/guanshang/c01/{code}/"
    # Now 六甲's secretary no longer sees it.
    is_problem(as_user("liujia.secretary").get(f"/api/v1/orgs/{node['id']}"), 404)
    closed = admin.post(f"/api/v1/orgs/{node['id']}/close", json={"version": 3})
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"


def test_the_same_idempotency_key_creates_once(as_user):
    admin = as_user("district.admin")
    key = uuid.uuid4().hex
    body = {"parent_id": LIUJIA_C01, "code": f"i{key[:6]}", "name": "幂等小组", "level": "area"}
    first = admin.post("/api/v1/orgs", json=body, headers={"Idempotency-Key": key})
    again = admin.post("/api/v1/orgs", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = admin.post("/api/v1/orgs", json={**body, "name": "另一个"}, headers={"Idempotency-Key": key})
    is_problem(other, 422, "IDEMPOTENCY_KEY_REUSED")


def test_pages_walk_the_whole_list(as_user):
    admin = as_user("district.admin")
    seen, cursor = [], None
    while True:
        params = {"level": "community", "limit": 25, "sort": "name"}
        if cursor:
            params["cursor"] = cursor
        body = admin.get("/api/v1/orgs", params=params).json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 68


RECORDS = [
    "/api/v1/members",
    "/api/v1/access-log",
    "/api/v1/dual-registrations",
    "/api/v1/service-reports",
    "/api/v1/alliances",
    "/api/v1/star-ratings",
    "/api/v1/four-lists",
    "/api/v1/accounts",
]


def test_a_resident_sees_the_public_tree_and_none_of_the_partys_records(as_user):
    """What a resident sees is what the party-building map (党建地图) shows the public: the tree of their
    community, its nodes' names and places. Every list of the party's records is forbidden to the role."""
    resident = as_user("demo.resident")
    community = resident.get(f"/api/v1/orgs/{node_id('/gd/liujia/c01/')}")
    assert community.status_code == 200 and community.json()["level"] == "community"
    for path in RECORDS:
        is_problem(resident.get(path), 403, "ROLE_FORBIDDEN")


@pytest.mark.parametrize("username", ["liujia.secretary", "demo.member"])
def test_a_secretary_and_a_member_get_the_thirteen_departments(as_user, username):
    """The departments lie outside every street: the tree's scoped lists hide them, this one does not."""
    client = as_user(username)
    assert client.get("/api/v1/orgs", params={"level": "department"}).json()["items"] == []
    response = client.get("/api/v1/departments")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [d["code"] for d in items] == sorted(d.code for d in departments())
    assert len(items) == 13 and {"fire", "power", "gas"} <= {d["code"] for d in items}
    gas = next(d for d in items if d["code"] == "gas")
    path = "/departments/gas/"
    assert gas == {"id": node_id(path), "code": "gas", "name": "燃气公司", "org_path": path}


def test_the_departments_without_a_token_are_401(anonymous):
    is_problem(anonymous.get("/api/v1/departments"), 401, "TOKEN_MISSING")
