"""Dual registration, service reports, alliances and star ratings over HTTP, as each role sees them: the
capability, scope (another community's or street's records are 404 and absent from lists), bad input (422,
nothing changed), illegal transitions (409) and roles that may never act (403)."""

import random
import string
import uuid

import pytest

from organization.demo.__main__ import node_id
from tests.e2e.test_orgs import is_problem

LIUJIA_C03 = node_id("/gd/liujia/c03/")
LIUJIA_C04 = node_id("/gd/liujia/c04/")
LIUJIA_ALLIANCE = node_id("/gd/liujia/alliance/")
LIUJIA_C04_BPC = node_id("/gd/liujia/c04/bpc/")
LIUJIA_C05 = node_id("/gd/liujia/c05/")
LIUJIA_C05_BR2 = node_id("/gd/liujia/c05/br2/")
GUANSHANG_C01 = node_id("/gd/guanshang/c01/")
GUANSHANG_C02_BR1 = node_id("/gd/guanshang/c02/br1/")
CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def organisation(kind: str = "agency") -> dict:
    """A fresh organisation with a made-up (format-valid) unified social credit code."""
    code = "91530111" + "".join(random.choices(CODE_CHARS, k=10))
    return {"name": f"测试单位{''.join(random.choices(string.digits, k=6))}", "kind": kind, "credit_code": code}


def items(client, path: str, **params) -> list[dict]:
    """Every item of a listing, page after page (the demo data fills these lists too)."""
    found: list[dict] = []
    cursor = None
    while True:
        response = client.get(path, params={"limit": 100, **params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        found += response.json()["items"]
        cursor = response.json().get("next_cursor")
        if not cursor:
            return found


# -- dual registration and reports ------------------------------------------------------------------------
def test_register_report_confirm_and_see_who_has_not_reported(as_user):
    c03 = as_user("liujia.c03.secretary")
    agency = organisation()
    created = c03.post(
        "/api/v1/dual-registrations",
        json={
            "community_id": LIUJIA_C03,
            "registrant_kind": "organisation",
            "organisation": agency,
            "registered_on": "2026-02-01",
        },
    )
    assert created.status_code == 201, created.text
    reg = created.json()
    assert created.headers["Location"].endswith(f"/api/v1/dual-registrations/{reg['id']}")
    # An in-service member of a branch elsewhere registers where they live: a real, current member.
    listed = as_user("district.admin").get("/api/v1/members", params={"branch_id": GUANSHANG_C02_BR1, "limit": 1})
    teacher = listed.json()["items"][0]
    as_member = {"community_id": LIUJIA_C03, "registrant_kind": "member", "registered_on": "2026-02-01"}
    invented = as_member | {"member_id": "demo-m-77", "member_name": "王五"}
    refused = c03.post("/api/v1/dual-registrations", json=invented)
    errors = is_problem(refused, 422, "DUAL_REGISTRATION_REGISTRANT_INVALID")["errors"]
    assert errors == {"member_id": ["no current member with this id and name"]}
    real = as_member | {"member_id": teacher["id"], "member_name": teacher["name"]}
    member = c03.post("/api/v1/dual-registrations", json=real).json()
    is_problem(
        c03.post(
            "/api/v1/dual-registrations",
            json={
                "community_id": LIUJIA_C03,
                "registrant_kind": "organisation",
                "organisation": agency,
                "registered_on": "2026-03-01",
            },
        ),
        409,
        "DUAL_REGISTRATION_EXISTS",
    )
    report = c03.post(
        "/api/v1/service-reports",
        json={
            "registration_id": reg["id"],
            "period": "2026-11",
            "services": "入户走访独居老人",
            "hours": 6.5,
            "people_served": 12,
        },
    )
    assert report.status_code == 201, report.text
    report_id = report.json()["id"]
    unreported = items(c03, "/api/v1/dual-registrations", community_id=LIUJIA_C03, period="2026-11", unreported="true")
    assert member["id"] in {r["id"] for r in unreported}
    assert reg["id"] not in {r["id"] for r in unreported}

    confirmed = c03.post(f"/api/v1/service-reports/{report_id}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["confirmed"] is True
    is_problem(c03.post(f"/api/v1/service-reports/{report_id}/confirm"), 409, "SERVICE_REPORT_ALREADY_CONFIRMED")
    assert [r["id"] for r in items(c03, "/api/v1/service-reports", registration_id=reg["id"])] == [report_id]
    per_agency = items(as_user("district.admin"), "/api/v1/dual-registrations", credit_code=agency["credit_code"])
    assert [r["id"] for r in per_agency] == [reg["id"]]

    ended = c03.post(f"/api/v1/dual-registrations/{member['id']}/end", json={"ended_on": "2026-12-31"})
    assert ended.status_code == 200 and ended.json()["active"] is False
    is_problem(
        c03.post(f"/api/v1/dual-registrations/{member['id']}/end", json={"ended_on": "2027-01-31"}),
        409,
        "DUAL_REGISTRATION_ENDED",
    )

    # Scope: another community's secretary and another street's secretary see nothing of it.
    for other in ("liujia.c04.secretary", "guanshang.secretary"):
        client = as_user(other)
        is_problem(client.get(f"/api/v1/dual-registrations/{reg['id']}"), 404, "DUAL_REGISTRATION_NOT_FOUND")
        is_problem(client.get(f"/api/v1/service-reports/{report_id}"), 404, "SERVICE_REPORT_NOT_FOUND")
        assert reg["id"] not in {r["id"] for r in items(client, "/api/v1/dual-registrations")}
        assert report_id not in {r["id"] for r in items(client, "/api/v1/service-reports")}
        is_problem(client.post(f"/api/v1/service-reports/{report_id}/confirm"), 404)
    assert as_user("liujia.secretary").get(f"/api/v1/dual-registrations/{reg['id']}").status_code == 200


def test_registering_a_member_of_another_street_shows_no_name_the_caller_did_not_give(as_user):
    """A community secretary may register an in-service member who lives there (their record is in another
    street), but neither the answer nor its refusals show a name or membership they cannot read."""
    c04 = as_user("liujia.c04.secretary")
    listed = as_user("district.admin").get("/api/v1/members", params={"branch_id": GUANSHANG_C02_BR1, "limit": 2})
    teacher = listed.json()["items"][1]
    is_problem(c04.get(f"/api/v1/members/{teacher['id']}"), 404)  # the record is not theirs to read
    base = {"community_id": node_id("/gd/liujia/c04/"), "registrant_kind": "member", "registered_on": "2026-02-01"}
    unnamed = c04.post("/api/v1/dual-registrations", json=base | {"member_id": teacher["id"]})
    assert teacher["name"] not in unnamed.text
    assert is_problem(unnamed, 422)["errors"] == {"member_name": ["required for a member outside your scope"]}
    wrong = c04.post("/api/v1/dual-registrations", json=base | {"member_id": teacher["id"], "member_name": "王五"})
    nobody = c04.post("/api/v1/dual-registrations", json=base | {"member_id": str(uuid.uuid4()), "member_name": "王五"})
    assert is_problem(wrong, 422)["errors"] == is_problem(nobody, 422)["errors"]  # a member or not: alike
    assert teacher["name"] not in wrong.text
    named = base | {"member_id": teacher["id"], "member_name": teacher["name"]}
    created = c04.post("/api/v1/dual-registrations", json=named)
    assert created.status_code == 201 and created.json()["member_name"] == teacher["name"], created.text


def test_recording_in_another_streets_community_is_not_found(as_user):
    body = {
        "community_id": GUANSHANG_C01,
        "registrant_kind": "organisation",
        "organisation": organisation(),
        "registered_on": "2026-01-01",
    }
    is_problem(as_user("liujia.secretary").post("/api/v1/dual-registrations", json=body), 404, "ORG_NOT_FOUND")


@pytest.mark.parametrize(
    "change",
    [
        {"community_id": 12},  # wrong type
        {"registrant_kind": "club"},
        {"registered_on": "someday"},
        {"colour": "red"},  # unknown field
        {"organisation": {"name": "x", "kind": "agency", "credit_code": "123"}},
        {"organisation": None},  # an organisation's registration names it
        {"ended_on": "2025-01-01"},  # before registered_on
        {"community_id": LIUJIA_C04_BPC},  # not a community
    ],
)
def test_bad_registrations_are_422_and_change_nothing(as_user, change):
    c04 = as_user("liujia.c04.secretary")
    body = {
        "community_id": LIUJIA_C04,
        "registrant_kind": "organisation",
        "organisation": organisation(),
        "registered_on": "2026-01-01",
        **change,
    }
    before = items(c04, "/api/v1/dual-registrations")
    problem = is_problem(c04.post("/api/v1/dual-registrations", json=body), 422)
    assert problem["detail"]
    assert items(c04, "/api/v1/dual-registrations") == before


def test_bad_reports_and_queries_are_422(as_user):
    c04 = as_user("liujia.c04.secretary")
    reg = c04.post(
        "/api/v1/dual-registrations",
        json={
            "community_id": LIUJIA_C04,
            "registrant_kind": "organisation",
            "organisation": organisation("school"),
            "registered_on": "2026-06-01",
        },
    ).json()
    good = {"registration_id": reg["id"], "period": "2026-07", "services": "课后托管", "hours": 3}
    for bad in ({"hours": 1.25}, {"hours": 0}, {"period": "2026-13"}, {"people_served": -1}, {"period": "2026-05"}):
        is_problem(c04.post("/api/v1/service-reports", json={**good, **bad}), 422)
    assert items(c04, "/api/v1/service-reports", registration_id=reg["id"]) == []
    is_problem(c04.get("/api/v1/dual-registrations", params={"unreported": "true"}), 422)
    is_problem(c04.get("/api/v1/dual-registrations", params={"colour": "red"}), 422)


def test_roles_that_never_use_these_routes_get_403(as_user):
    client = as_user("water.desk")  # a city department desk
    is_problem(client.get("/api/v1/dual-registrations"), 403, "ROLE_FORBIDDEN")
    is_problem(client.post("/api/v1/alliances", json={}), 403, "ROLE_FORBIDDEN")
    is_problem(client.get("/api/v1/star-ratings/counts"), 403, "ROLE_FORBIDDEN")


# -- alliances and big party committees -------------------------------------------------------------------
def test_joining_and_leaving_an_alliance(as_user):
    liujia = as_user("liujia.secretary")
    org = organisation("enterprise")
    joined = liujia.post(
        "/api/v1/alliances",
        json={
            "host_id": LIUJIA_ALLIANCE,
            "organisation": org,
            "joined_on": "2025-05-01",
            "commitments": ["共建滇池湿地志愿服务站"],
        },
    )
    assert joined.status_code == 201, joined.text
    membership = joined.json()
    assert membership["host_level"] == "alliance"
    again = {"host_id": LIUJIA_ALLIANCE, "organisation": org, "joined_on": "2025-06-01"}
    is_problem(liujia.post("/api/v1/alliances", json=again), 409, "ALLIANCE_ALREADY_JOINED")
    listed = items(liujia, "/api/v1/alliances", host_id=LIUJIA_ALLIANCE, active="true")
    assert membership["id"] in {m["id"] for m in listed}

    # Out of scope: another street, and a community secretary for the street's alliance.
    for other in ("guanshang.secretary", "liujia.c01.secretary"):
        is_problem(as_user(other).get(f"/api/v1/alliances/{membership['id']}"), 404, "ALLIANCE_MEMBERSHIP_NOT_FOUND")
        assert membership["id"] not in {m["id"] for m in items(as_user(other), "/api/v1/alliances")}
        is_problem(
            as_user(other).post(f"/api/v1/alliances/{membership['id']}/leave", json={"left_on": "2026-01-01"}), 404
        )

    is_problem(liujia.post(f"/api/v1/alliances/{membership['id']}/leave", json={"left_on": "2025-04-01"}), 422)
    left = liujia.post(f"/api/v1/alliances/{membership['id']}/leave", json={"left_on": "2026-03-31", "reason": "迁出"})
    assert left.status_code == 200 and left.json()["active"] is False
    is_problem(
        liujia.post(f"/api/v1/alliances/{membership['id']}/leave", json={"left_on": "2026-04-01"}),
        409,
        "ALLIANCE_ALREADY_LEFT",
    )
    assert liujia.post("/api/v1/alliances", json=again).status_code == 201  # after leaving it may join again


def test_a_community_secretary_records_their_big_party_committee(as_user):
    c04 = as_user("liujia.c04.secretary")
    joined = c04.post(
        "/api/v1/alliances",
        json={"host_id": LIUJIA_C04_BPC, "organisation": organisation("two_new"), "joined_on": "2026-01-01"},
    )
    assert joined.status_code == 201, joined.text
    assert joined.json()["host_level"] == "big_party_committee"
    is_problem(
        c04.post(
            "/api/v1/alliances",
            json={"host_id": LIUJIA_ALLIANCE, "organisation": organisation(), "joined_on": "2026-01-01"},
        ),
        404,
        "ORG_NOT_FOUND",
    )
    before = items(c04, "/api/v1/alliances")
    for bad in ({"commitments": "one"}, {"joined_on": None}, {"host_id": LIUJIA_C04}, {"extra": 1}):
        body = {"host_id": LIUJIA_C04_BPC, "organisation": organisation(), "joined_on": "2026-01-01", **bad}
        is_problem(c04.post("/api/v1/alliances", json=body), 422)
    assert items(c04, "/api/v1/alliances") == before


# -- star ratings ---------------------------------------------------------------------------------------
def rating(branch: str, to: str, on: str) -> dict:
    return {
        "branch_id": branch,
        "rating": to,
        "effective_on": on,
        "evidence": {"text": "街道党工委考评验收", "document_refs": ["六甲党工〔2026〕3号"]},
        "reason": "年度考评",
    }


def new_branch(client, parent_id: str) -> str:
    """A branch nobody rated yet (the demo rates 993 of its branches)."""
    created = client.post(
        "/api/v1/orgs",
        json={"parent_id": parent_id, "code": f"t{uuid.uuid4().hex[:8]}", "name": "测试党支部", "level": "branch"},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_star_ratings_history_and_counts(as_user):
    liujia = as_user("liujia.secretary")
    branch = new_branch(liujia, LIUJIA_C05)
    before = liujia.get("/api/v1/star-ratings/counts").json()
    is_problem(
        liujia.post("/api/v1/star-ratings", json=rating(branch, "city_5_star", "2026-01-01")),
        409,
        "STAR_RATING_INVALID_TRANSITION",
    )
    first = liujia.post("/api/v1/star-ratings", json=rating(branch, "standard", "2026-01-01"))
    assert first.status_code == 201, first.text
    assert first.headers["Location"].endswith(f"/api/v1/star-ratings/{branch}/history")
    second = liujia.post("/api/v1/star-ratings", json=rating(branch, "city_5_star", "2026-09-01"))
    assert second.status_code == 201, second.text
    is_problem(
        liujia.post("/api/v1/star-ratings", json=rating(branch, "city_5_star", "2026-10-01")),
        409,
        "STAR_RATING_UNCHANGED",
    )
    is_problem(
        liujia.post("/api/v1/star-ratings", json=rating(branch, "city_4_star", "2026-08-01")),
        409,
        "STAR_RATING_OUT_OF_ORDER",
    )

    current = liujia.get(f"/api/v1/star-ratings/{branch}").json()
    assert (current["rating"], current["effective_on"]) == ("city_5_star", "2026-09-01")
    history = items(liujia, f"/api/v1/star-ratings/{branch}/history")
    assert [(h["from_rating"], h["to_rating"]) for h in history] == [("standard", "city_5_star"), ("none", "standard")]
    assert history[0]["evidence"]["document_refs"] == ["六甲党工〔2026〕3号"]
    five = items(liujia, "/api/v1/star-ratings", rating="city_5_star")
    assert branch in {r["branch_id"] for r in five}

    after = liujia.get("/api/v1/star-ratings/counts").json()
    assert [s["street_code"] for s in after["items"]] == ["liujia"]
    assert after["totals"]["city_5_star"] == before["totals"]["city_5_star"] + 1
    assert after["totals"]["none"] == before["totals"]["none"] - 1
    district = as_user("district.admin").get("/api/v1/star-ratings/counts").json()
    assert len(district["items"]) == 8

    # A community secretary reads their branches' ratings but may never decide one.
    c05 = as_user("liujia.c05.secretary")
    assert c05.get(f"/api/v1/star-ratings/{branch}").status_code == 200
    is_problem(
        c05.post("/api/v1/star-ratings", json=rating(LIUJIA_C05_BR2, "standard", "2026-01-01")), 403, "ROLE_FORBIDDEN"
    )
    # Another street: 404 for the branch, and nothing of it in lists or counts.
    guanshang = as_user("guanshang.secretary")
    is_problem(guanshang.get(f"/api/v1/star-ratings/{branch}/history"), 404, "ORG_NOT_FOUND")
    is_problem(guanshang.get(f"/api/v1/star-ratings/{branch}"), 404)
    assert branch not in {r["branch_id"] for r in items(guanshang, "/api/v1/star-ratings")}
    assert [s["street_code"] for s in guanshang.get("/api/v1/star-ratings/counts").json()["items"]] == ["guanshang"]
    is_problem(liujia.post("/api/v1/star-ratings", json=rating(GUANSHANG_C02_BR1, "standard", "2026-01-01")), 404)


@pytest.mark.parametrize(
    "change",
    [
        {"rating": "city_6_star"},
        {"effective_on": "2026-02-30"},
        {"evidence": {"text": ""}},
        {"evidence": "a photo"},
        {"reason": None},
        {"branch_id": LIUJIA_C04},  # not a branch
        {"decided_by": "someone else"},  # who decided comes from the caller, never the body
    ],
)
def test_bad_rating_changes_are_422_and_change_nothing(as_user, change):
    liujia = as_user("liujia.secretary")
    before = (
        liujia.get(f"/api/v1/star-ratings/{LIUJIA_C05_BR2}").json(),
        liujia.get("/api/v1/star-ratings/counts").json(),
    )
    is_problem(
        liujia.post("/api/v1/star-ratings", json={**rating(LIUJIA_C05_BR2, "standard", "2026-01-01"), **change}), 422
    )
    after = (
        liujia.get(f"/api/v1/star-ratings/{LIUJIA_C05_BR2}").json(),
        liujia.get("/api/v1/star-ratings/counts").json(),
    )
    assert after == before
