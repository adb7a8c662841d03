"""Street modules over HTTP: the catalogue's defaults (六甲 runs river patrol), only a district admin changes
them, and a street that stops running a module answers 404 on that module's routes to its users only."""

from kit.harness import wait_for
from organization.demo.__main__ import node_id
from tests.e2e.test_orgs import is_problem

TAIHE = node_id("/gd/taihe/")
LIUJIA = node_id("/gd/liujia/")
EVERY_MODULE = ["river_patrol", "whistle", "scoring", "dual_registration", "alliances", "star_ratings", "four_lists"]


def test_each_street_runs_its_default_modules_under_its_brand(as_user):
    liujia = as_user("liujia.secretary").get(f"/api/v1/streets/{LIUJIA}/modules").json()
    assert liujia["modules"] == EVERY_MODULE and liujia["brand"] == "党建+滇池治理"
    assert [m["code"] for m in liujia["catalogue"]] == EVERY_MODULE
    taihe = as_user("district.admin").get(f"/api/v1/streets/{TAIHE}/modules").json()
    assert taihe["modules"] == EVERY_MODULE[1:]
    is_problem(as_user("liujia.secretary").get(f"/api/v1/streets/{TAIHE}/modules"), 404)
    is_problem(as_user("district.admin").get(f"/api/v1/streets/{node_id('/gd/taihe/c01/')}/modules"), 404)


def test_me_tells_a_front_end_which_modules_its_user_gets(as_user):
    assert as_user("liujia.c01.secretary").get("/api/v1/me").json()["modules"] == EVERY_MODULE
    assert as_user("taihe.secretary").get("/api/v1/me").json()["modules"] == EVERY_MODULE[1:]
    assert as_user("district.admin").get("/api/v1/me").json()["modules"] is None  # above the streets: every one


def test_only_a_district_admin_changes_modules_and_bad_lists_change_nothing(as_user):
    is_problem(as_user("taihe.secretary").put(f"/api/v1/streets/{TAIHE}/modules", json={"modules": []}), 403)
    admin = as_user("district.admin")
    is_problem(admin.put(f"/api/v1/streets/{TAIHE}/modules", json={"modules": ["teleport"]}), 422, "MODULE_UNKNOWN")
    is_problem(admin.put(f"/api/v1/streets/{TAIHE}/modules", json={"modules": "whistle"}), 422)
    is_problem(admin.put(f"/api/v1/streets/{TAIHE}/modules", json={"modules": [], "x": 1}), 422)
    assert admin.get(f"/api/v1/streets/{TAIHE}/modules").json()["modules"] == EVERY_MODULE[1:]


def test_a_street_without_four_lists_gets_404_on_them_while_others_keep_them(as_user):
    admin = as_user("district.admin")
    taihe_users = [as_user("taihe.secretary"), as_user("taihe.c01.secretary")]
    others = [as_user("guanshang.secretary"), as_user("guanshang.c01.secretary"), admin]
    for client in taihe_users + others:
        assert client.get("/api/v1/four-lists").status_code == 200
    without = [m for m in EVERY_MODULE[1:] if m != "four_lists"]
    try:
        changed = admin.put(f"/api/v1/streets/{TAIHE}/modules", json={"modules": without})
        assert changed.status_code == 200 and changed.json()["modules"] == without
        for client in taihe_users:
            wait_for(
                lambda c=client: c.get("/api/v1/four-lists").status_code == 404,
                timeout=15,
                what="four lists gone for taihe",
            )
            is_problem(client.get("/api/v1/four-lists"), 404, "MODULE_NOT_RUN")
            is_problem(
                client.post("/api/v1/four-lists", json={"kind": "problem", "title": "x", "due_date": "2030-01-01"}),
                404,
                "MODULE_NOT_RUN",
            )
        for client in others:
            assert client.get("/api/v1/four-lists").status_code == 200
        assert as_user("taihe.secretary").get("/api/v1/orgs").status_code == 200  # core routes stay
    finally:
        admin.put(f"/api/v1/streets/{TAIHE}/modules", json={"modules": EVERY_MODULE[1:]})
    wait_for(
        lambda: as_user("taihe.secretary").get("/api/v1/four-lists").status_code == 200,
        timeout=15,
        what="four lists back for taihe",
    )


ROUTE_OF_MODULE = {
    "dual_registration": "/api/v1/dual-registrations",
    "alliances": "/api/v1/alliances",
    "star_ratings": "/api/v1/star-ratings",
}


def test_engagement_routes_follow_their_modules(as_user):
    """Dual registration (and its reports), alliances and star ratings are modules too."""
    admin, taihe = as_user("district.admin"), as_user("taihe.secretary")
    jinma = as_user("jinma.secretary")
    try:
        assert admin.put(f"/api/v1/streets/{TAIHE}/modules", json={"modules": ["whistle"]}).status_code == 200
        wait_for(lambda: taihe.get("/api/v1/alliances").status_code == 404, timeout=15, what="alliances gone for taihe")
        for route in [*ROUTE_OF_MODULE.values(), "/api/v1/service-reports"]:
            is_problem(taihe.get(route), 404, "MODULE_NOT_RUN")
            assert jinma.get(route).status_code == 200
    finally:
        admin.put(f"/api/v1/streets/{TAIHE}/modules", json={"modules": EVERY_MODULE[1:]})
    wait_for(
        lambda: all(taihe.get(route).status_code == 200 for route in ROUTE_OF_MODULE.values()),
        timeout=15,
        what="the modules back for taihe",
    )
