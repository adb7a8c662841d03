"""The organisation tree through the service's RPC on real RabbitMQ, on SQLite and PostgreSQL."""

import json
import uuid

import pytest
from sqlalchemy import create_engine, select

from kit.context import CallerContext
from kit.demo_tree import departments
from kit.errors import ServiceError
from kit.orm import OutboxRow
from organization.demo.__main__ import node_id

LIUJIA = node_id("/gd/liujia/")
LIUJIA_C01 = node_id("/gd/liujia/c01/")
GUANSHANG = node_id("/gd/guanshang/")
GUANSHANG_C01 = node_id("/gd/guanshang/c01/")
DISTRICT = node_id("/gd/")


def key() -> str:
    return uuid.uuid4().hex


def events(url: str, kind: str) -> list[tuple[str, dict]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(OutboxRow.routing_key, OutboxRow.body).where(OutboxRow.event_type == kind).order_by(OutboxRow.seq)
        ).all()
    engine.dispose()
    return [(rk, json.loads(body)) for rk, body in rows]


def raises(code: str, call, *args):
    with pytest.raises(ServiceError) as raised:
        call(*args)
    assert raised.value.code == code, raised.value
    return raised.value


def test_the_demo_district_has_the_sources_shape(rpc, as_user):
    admin = as_user("district.admin")
    counts = rpc.count_levels(admin, DISTRICT)["counts"]
    assert counts["street"] == 8
    assert counts["community"] == 68
    assert counts["big_party_committee"] == 68
    assert counts["alliance"] == 8
    streets = rpc.list_children(admin, DISTRICT, {"limit": 100})["items"]
    assert {s["name"] for s in streets} == {
        "关上街道",
        "金马街道",
        "小板桥街道",
        "矣六街道",
        "太和街道",
        "吴井街道",
        "六甲街道",
        "官渡街道",
    }
    liujia = next(s for s in streets if s["code"] == "liujia")
    assert liujia["brand"] == "党建+滇池治理"
    assert liujia["location"]["type"] == "Polygon"


def test_a_street_secretary_sees_only_their_street(rpc, as_user):
    liujia = as_user("liujia.secretary")
    communities = rpc.list_orgs(liujia, {"level": "community", "limit": 100})["items"]
    assert len(communities) == 7
    assert all(c["org_path"].startswith("/gd/liujia/") for c in communities)
    # Nothing of 关上 through any read:
    raises("ORG_NOT_FOUND", rpc.get_org, liujia, GUANSHANG)
    raises("ORG_NOT_FOUND", rpc.list_children, liujia, GUANSHANG, {})
    raises("ORG_NOT_FOUND", rpc.get_subtree, liujia, GUANSHANG_C01, 2)
    raises("ORG_NOT_FOUND", rpc.list_ancestors, liujia, GUANSHANG_C01)
    raises("ORG_NOT_FOUND", rpc.count_levels, liujia, GUANSHANG)
    assert rpc.list_orgs(liujia, {"street_code": "guanshang"})["items"] == []
    assert rpc.list_orgs(liujia, {"q": "关上"})["items"] == []
    # Ancestors stop at the edge of the scope: the district is not theirs.
    ancestors = rpc.list_ancestors(liujia, LIUJIA_C01)["items"]
    assert [a["code"] for a in ancestors] == ["liujia"]
    # Nor can they move 关上 nodes, or move their own under 关上.
    raises("ORG_NOT_FOUND", rpc.move_org, liujia, GUANSHANG_C01, {"new_parent_id": LIUJIA, "version": 1}, key())
    raises("ORG_NOT_FOUND", rpc.move_org, liujia, LIUJIA_C01, {"new_parent_id": GUANSHANG, "version": 1}, key())


def test_the_subtree_is_nested_to_the_depth_asked(rpc, as_user):
    tree = rpc.get_subtree(as_user("liujia.secretary"), LIUJIA_C01, 2)
    assert tree["code"] == "c01"
    areas = [c for c in tree["children"] if c["level"] == "area"]
    assert len(areas) == 2
    # Each area has its three buildings and, since the full demo data, at least one branch.
    levels = [g["level"] for g in areas[0]["children"]]
    assert levels.count("building") == 3
    assert levels.count("branch") >= 1
    assert rpc.get_subtree(as_user("liujia.secretary"), LIUJIA_C01, 0)["children"] == []


def test_a_community_secretary_may_not_create_a_street(rpc, as_user):
    community = as_user("liujia.c01.secretary")
    error = raises(
        "ORG_ROLE_CANNOT_CREATE_LEVEL",
        rpc.create_org,
        community,
        {"parent_id": DISTRICT, "code": "newstreet", "name": "新街道", "level": "street"},
        key(),
    )
    assert error.status == 403
    created = rpc.create_org(
        community, {"parent_id": LIUJIA_C01, "code": "a9", "name": "第九居民小组", "level": "area"}, key()
    )
    assert created["org_path"] == "/gd/liujia/c01/a9/"
    assert created["street_code"] == "liujia"


def test_create_rename_move_close_with_events_versions_and_rules(rpc, as_user, demo_db):
    admin = as_user("district.admin")
    node = rpc.create_org(admin, {"parent_id": GUANSHANG_C01, "code": "a7", "name": "试点小组", "level": "area"}, key())
    building = rpc.create_org(admin, {"parent_id": node["id"], "code": "b1", "name": "1栋", "level": "building"}, key())
    created = events(demo_db, "org.created")[-1]
    assert created[0] == "org.created.guanshang"
    assert created[1]["data"]["id"] == building["id"]

    # level rules and cycles: 422; stale versions and code clashes: 409
    assert (
        raises(
            "ORG_LEVEL_NOT_ALLOWED",
            rpc.create_org,
            admin,
            {"parent_id": node["id"], "code": "x", "name": "x", "level": "street"},
            key(),
        ).status
        == 422
    )
    assert (
        raises(
            "ORG_CODE_TAKEN",
            rpc.create_org,
            admin,
            {"parent_id": GUANSHANG_C01, "code": "a7", "name": "dup", "level": "area"},
            key(),
        ).status
        == 409
    )
    assert (
        raises(
            "ORG_CYCLE", rpc.move_org, admin, node["id"], {"new_parent_id": building["id"], "version": 1}, key()
        ).status
        == 422
    )
    renamed = rpc.rename_org(admin, node["id"], {"name": "试点一组", "version": 1}, key())
    assert renamed["version"] == 2
    assert raises("ORG_STALE", rpc.rename_org, admin, node["id"], {"name": "again", "version": 1}, key()).status == 409

    # move the subtree from 关上 to 六甲: paths and streets of the whole subtree follow
    moved = rpc.move_org(admin, node["id"], {"new_parent_id": LIUJIA_C01, "version": 2}, key())
    assert moved["org_path"] == "/gd/liujia/c01/a7/"
    assert moved["street_code"] == "liujia"
    child = rpc.get_org(admin, building["id"])
    assert (child["org_path"], child["street_code"]) == ("/gd/liujia/c01/a7/b1/", "liujia")
    published = events(demo_db, "org.moved")
    assert [rk for rk, _ in published] == ["org.moved.guanshang", "org.moved.liujia"]
    assert published[0][1]["id"] == published[1][1]["id"]  # one fact, one id, two streets
    assert published[0][1]["data"]["moved_nodes"] == 2

    # close: not while it has active children
    assert raises("ORG_HAS_ACTIVE_CHILDREN", rpc.close_org, admin, node["id"], {"version": 3}, key()).status == 409
    rpc.close_org(admin, building["id"], {"version": 1}, key())
    closed = rpc.close_org(admin, node["id"], {"version": 3}, key())
    assert closed["status"] == "closed"
    assert raises(
        "ORG_CLOSED",
        rpc.create_org,
        admin,
        {"parent_id": node["id"], "code": "b2", "name": "2栋", "level": "building"},
        key(),
    )


def test_bad_input_is_refused_and_changes_nothing(rpc, as_user, demo_db):
    admin = as_user("district.admin")
    before = len(events(demo_db, "org.created"))
    for payload in (
        {"parent_id": "not-a-uuid", "code": "a8", "name": "x", "level": "area"},
        {"parent_id": LIUJIA_C01, "code": "A B", "name": "x", "level": "area"},
        {"parent_id": LIUJIA_C01, "code": "a8", "name": "x", "level": "palace"},
        {"parent_id": LIUJIA_C01, "code": "a8", "name": "x", "level": "area", "extra": 1},
        {"parent_id": LIUJIA_C01, "code": "a8", "level": "area"},
        {
            "parent_id": LIUJIA_C01,
            "code": "a8",
            "name": "x",
            "level": "area",
            "location": {"type": "Point", "coordinates": [500, 1]},
        },
    ):
        error = raises("VALIDATION_FAILED", rpc.create_org, admin, payload, key())
        assert error.status == 422 and error.errors
    assert len(events(demo_db, "org.created")) == before


def test_pages_are_stable_and_cover_everything_once(rpc, as_user):
    admin = as_user("district.admin")
    seen, cursor = [], None
    while True:
        query = {"level": "building", "limit": 100, "sort": "-name"}
        if cursor:
            query["cursor"] = cursor
        page = rpc.list_orgs(admin, query)
        seen += [n["id"] for n in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 408
    raises("PAGE_CURSOR_INVALID", rpc.list_orgs, admin, {"cursor": "Z2FyYmFnZQ"})  # base64, but no list's cursor
    raises("VALIDATION_FAILED", rpc.list_orgs, admin, {"cursor": "garbage!"})  # not even base64


def test_every_authenticated_role_lists_the_thirteen_departments_by_code(rpc, as_user):
    """The scoped reads hide the departments from a secretary who must summon them: this list is not scoped."""
    liujia = as_user("liujia.secretary")
    assert rpc.list_orgs(liujia, {"level": "department"})["items"] == []
    expected = sorted((d.code, d.name, d.org_path, d.id) for d in departments())
    for username in ("liujia.secretary", "liujia.c01.secretary", "water.desk", "district.admin"):
        items = rpc.list_departments(as_user(username))["items"]
        assert [(d["code"], d["name"], d["org_path"], d["id"]) for d in items] == expected, username
    assert len(expected) == 13 and {"fire", "power", "gas"} <= {code for code, *_ in expected}
    raises("AUTH_REQUIRED", rpc.list_departments, CallerContext.anonymous().to_wire())


def test_a_closed_department_is_no_longer_listed(rpc, as_user):
    admin = as_user("district.admin")
    rpc.close_org(admin, node_id("/departments/gas/"), {"version": 1}, key())
    codes = [d["code"] for d in rpc.list_departments(as_user("wujing.secretary"))["items"]]
    assert len(codes) == 12 and "gas" not in codes
