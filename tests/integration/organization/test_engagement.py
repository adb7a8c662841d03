"""Dual registration, service reports, alliances and star ratings through the service's RPC on real
RabbitMQ, on SQLite and PostgreSQL: the rules, scope, idempotency, and the events in the outbox."""

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, func, select

from kit.clock import SystemClock
from kit.context import CallerContext
from kit.db import Database
from kit.errors import ServiceError
from kit.uow import UnitOfWork
from organization.adapters.orm.engagement import AllianceMembershipRow, DualRegistrationRow
from organization.adapters.repositories.engagement import AllianceRepository
from organization.app import engagement, tree
from organization.demo.__main__ import node_id
from organization.domain.engagement import AllianceMembership, AlreadyJoined, Organisation, OrganisationKind
from organization.domain.tree import Level
from organization.schemas.engagement import AllianceJoin
from tests.integration.organization.test_tree import events, key, raises
from tests.member_data import member_body, unique_seed

LIUJIA_C01 = node_id("/gd/liujia/c01/")
LIUJIA_ALLIANCE = node_id("/gd/liujia/alliance/")
LIUJIA_C01_BPC = node_id("/gd/liujia/c01/bpc/")
LIUJIA_C01_BR1 = node_id("/gd/liujia/c01/br1/")
LIUJIA_C01_BR2 = node_id("/gd/liujia/c01/br2/")
GUANSHANG_C01 = node_id("/gd/guanshang/c01/")
GUANSHANG_C01_BR1 = node_id("/gd/guanshang/c01/br1/")
WATER = {"name": "区水务局机关党支部", "kind": "agency", "credit_code": "11530111MB0000001X"}


def count(url: str, table) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(table))
    engine.dispose()
    return int(n or 0)


def test_registration_reports_confirmation_and_who_has_not_reported(rpc, as_user, demo_db):
    c01 = as_user("liujia.c01.secretary")
    agency = rpc.record_dual_registration(
        c01,
        {
            "community_id": LIUJIA_C01,
            "registrant_kind": "organisation",
            "organisation": WATER,
            "registered_on": "2026-03-01",
        },
        key(),
    )
    admin = as_user("district.admin")
    teacher = rpc.register_member(admin, member_body(GUANSHANG_C01_BR1, unique_seed(), name="李四"), key())
    as_member = {
        "community_id": LIUJIA_C01,
        "registrant_kind": "member",
        "organisation": {"name": "区教育局", "kind": "agency"},
        "registered_on": "2026-10-10",
    }
    # An in-service member registers where they live, outside their branch's community; but a real, current one.
    gone = rpc.register_member(admin, member_body(GUANSHANG_C01_BR1, unique_seed()), key())
    leaving = {"left_on": "2026-01-05", "reason": "moved_away", "version": 1}
    rpc.leave_member(admin, gone["id"], leaving, key())
    # The teacher's record lies outside 六甲's first community: its secretary must name them, and whatever is
    # wrong (no such id, a member who left, another name) the answer is one and the same.
    unnamed = as_member | {"member_id": teacher["id"]}
    error = raises("DUAL_REGISTRATION_REGISTRANT_INVALID", rpc.record_dual_registration, c01, unnamed, key())
    assert error.errors == {"member_name": ["required for a member outside your scope"]}
    unknown = ("m-0001", str(uuid.uuid4()), gone["id"])
    for member_id in unknown:
        refused = as_member | {"member_id": member_id, "member_name": "李四"}
        error = raises("DUAL_REGISTRATION_REGISTRANT_INVALID", rpc.record_dual_registration, c01, refused, key())
        assert error.errors == {"member_id": ["no current member with this id and name"]}
    forged = as_member | {"member_id": teacher["id"], "member_name": "王五"}
    error = raises("DUAL_REGISTRATION_REGISTRANT_INVALID", rpc.record_dual_registration, c01, forged, key())
    assert error.errors == {"member_id": ["no current member with this id and name"]}
    member = rpc.record_dual_registration(c01, as_member | {"member_id": teacher["id"], "member_name": "李四"}, key())
    assert member["member_name"] == "李四"
    assert agency["org_path"] == "/gd/liujia/c01/" and agency["active"]
    raises(
        "DUAL_REGISTRATION_EXISTS",
        rpc.record_dual_registration,
        c01,
        {
            "community_id": LIUJIA_C01,
            "registrant_kind": "organisation",
            "organisation": WATER,
            "registered_on": "2026-04-01",
        },
        key(),
    )

    report = rpc.record_service_report(
        c01,
        {
            "registration_id": agency["id"],
            "period": "2026-11",
            "services": "滇池岸线清理",
            "hours": 12.5,
            "people_served": 30,
        },
        key(),
    )
    assert report["hours"] == 12.5 and not report["confirmed"]
    raises(
        "SERVICE_REPORT_EXISTS",
        rpc.record_service_report,
        c01,
        {"registration_id": agency["id"], "period": "2026-11", "services": "again", "hours": 1},
        key(),
    )
    raises(
        "SERVICE_REPORT_PERIOD_OUTSIDE_REGISTRATION",
        rpc.record_service_report,
        c01,
        {"registration_id": member["id"], "period": "2026-09", "services": "x", "hours": 1},
        key(),
    )

    unreported = rpc.list_dual_registrations(
        c01, {"community_id": LIUJIA_C01, "period": "2026-11", "unreported": True}
    )["items"]
    assert [r["id"] for r in unreported] == [member["id"]]
    # Before the member registered, they owed nothing; the agency, registered since March, did.
    september = rpc.list_dual_registrations(c01, {"period": "2026-09", "unreported": True})["items"]
    assert [r["id"] for r in september] == [agency["id"]]

    confirmed = rpc.confirm_service_report(c01, report["id"], key())
    assert confirmed["confirmed"] and confirmed["confirmed_by"] == c01["account_id"]
    raises("SERVICE_REPORT_ALREADY_CONFIRMED", rpc.confirm_service_report, c01, report["id"], key())

    # Per agency: by credit code or by name.
    by_code = rpc.list_dual_registrations(as_user("district.admin"), {"credit_code": WATER["credit_code"]})
    assert [r["id"] for r in by_code["items"]] == [agency["id"]]
    ended = rpc.end_dual_registration(c01, member["id"], {"ended_on": "2026-12-31"}, key())
    assert not ended["active"]
    raises("DUAL_REGISTRATION_ENDED", rpc.end_dual_registration, c01, member["id"], {"ended_on": "2027-01-31"}, key())

    ((routing_key, body),) = events(demo_db, "dual_registration.recorded")[:1]
    assert routing_key == "dual_registration.recorded.liujia"
    assert body["data"]["organisation"] == WATER
    assert [rk for rk, _ in events(demo_db, "service_report.recorded")] == ["service_report.recorded.liujia"]
    # Once each, though each was asked twice: the confirmation (what scores count) and the end.
    ((routing_key, body),) = events(demo_db, "service_report.confirmed")
    assert routing_key == "service_report.confirmed.liujia"
    assert body["data"]["confirmed_by"] == c01["account_id"] and body["data"]["hours"] == 12.5
    ((routing_key, body),) = events(demo_db, "dual_registration.ended")
    assert routing_key == "dual_registration.ended.liujia"
    assert (body["subject"], body["data"]["ended_on"], body["data"]["member_name"]) == (
        member["id"],
        "2026-12-31",
        "李四",
    )


def test_scope_another_community_or_street_is_not_found(rpc, as_user):
    c01 = as_user("liujia.c01.secretary")
    reg = rpc.record_dual_registration(
        c01,
        {
            "community_id": LIUJIA_C01,
            "registrant_kind": "organisation",
            "organisation": WATER,
            "registered_on": "2026-01-01",
        },
        key(),
    )
    for other in ("liujia.c02.secretary", "guanshang.secretary", "guanshang.c01.secretary"):
        raises("DUAL_REGISTRATION_NOT_FOUND", rpc.get_dual_registration, as_user(other), reg["id"])
        assert rpc.list_dual_registrations(as_user(other), {})["items"] == []
    assert rpc.get_dual_registration(as_user("liujia.secretary"), reg["id"])["id"] == reg["id"]
    # Recording in another street's community: that community does not exist for them.
    raises(
        "ORG_NOT_FOUND",
        rpc.record_dual_registration,
        c01,
        {
            "community_id": GUANSHANG_C01,
            "registrant_kind": "organisation",
            "organisation": WATER,
            "registered_on": "2026-01-01",
        },
        key(),
    )
    raises(
        "ORG_NOT_FOUND",
        rpc.join_alliance,
        c01,
        {"host_id": LIUJIA_ALLIANCE, "organisation": WATER, "joined_on": "2026-01-01"},
        key(),
    )
    raises(
        "ORG_NOT_FOUND",
        rpc.change_star_rating,
        as_user("liujia.secretary"),
        {
            "branch_id": GUANSHANG_C01_BR1,
            "rating": "standard",
            "effective_on": "2026-01-01",
            "evidence": {"text": "x"},
            "reason": "y",
        },
        key(),
    )


def test_bad_input_is_refused_and_changes_nothing(rpc, as_user, demo_db):
    c01 = as_user("liujia.c01.secretary")
    before = count(demo_db, DualRegistrationRow)
    for payload in (
        {"community_id": LIUJIA_C01, "registrant_kind": "organisation", "registered_on": "2026-01-01"},
        {"community_id": LIUJIA_C01, "registrant_kind": "club", "organisation": WATER, "registered_on": "2026-01-01"},
        {
            "community_id": LIUJIA_C01,
            "registrant_kind": "organisation",
            "organisation": WATER,
            "registered_on": "2026-01-01",
            "colour": "red",
        },
        {
            "community_id": LIUJIA_C01_BPC,
            "registrant_kind": "organisation",
            "organisation": WATER,
            "registered_on": "2026-01-01",
        },
        {
            "community_id": LIUJIA_C01,
            "registrant_kind": "organisation",
            "organisation": WATER,
            "registered_on": "2026-05-01",
            "ended_on": "2026-04-01",
        },
    ):
        with pytest.raises(ServiceError) as raised:
            rpc.record_dual_registration(c01, payload, key())
        assert raised.value.kind == "invalid", payload
    assert count(demo_db, DualRegistrationRow) == before


def test_joining_and_leaving_alliances_and_big_party_committees(rpc, as_user, demo_db):
    liujia = as_user("liujia.secretary")
    joined = rpc.join_alliance(
        liujia,
        {
            "host_id": LIUJIA_ALLIANCE,
            "organisation": WATER,
            "joined_on": "2025-06-01",
            "commitments": ["共建滇池保护志愿队", "每季度一次联合主题党日"],
        },
        key(),
    )
    assert joined["host_level"] == "alliance" and joined["commitments"][1] == "每季度一次联合主题党日"
    raises(
        "ALLIANCE_ALREADY_JOINED",
        rpc.join_alliance,
        liujia,
        {"host_id": LIUJIA_ALLIANCE, "organisation": WATER, "joined_on": "2025-07-01"},
        key(),
    )
    # The same organisation may sit on a community's big party committee too.
    c01 = as_user("liujia.c01.secretary")
    bpc = rpc.join_alliance(c01, {"host_id": LIUJIA_C01_BPC, "organisation": WATER, "joined_on": "2025-06-01"}, key())
    assert bpc["host_level"] == "big_party_committee"
    raises(
        "ENGAGEMENT_WRONG_LEVEL",
        rpc.join_alliance,
        c01,
        {"host_id": LIUJIA_C01, "organisation": WATER, "joined_on": "2025-06-01"},
        key(),
    )
    # The community secretary sees their committee's memberships, not the street's alliance.
    assert [m["id"] for m in rpc.list_alliance_memberships(c01, {})["items"]] == [bpc["id"]]
    raises("ALLIANCE_MEMBERSHIP_NOT_FOUND", rpc.get_alliance_membership, c01, joined["id"])

    left = rpc.leave_alliance(liujia, joined["id"], {"left_on": "2026-06-30", "reason": "机构调整"}, key())
    assert not left["active"] and left["left_on"] == "2026-06-30"
    raises("ALLIANCE_ALREADY_LEFT", rpc.leave_alliance, liujia, joined["id"], {"left_on": "2026-07-01"}, key())
    # Once it has left it may join again.
    again = rpc.join_alliance(
        liujia, {"host_id": LIUJIA_ALLIANCE, "organisation": WATER, "joined_on": "2026-08-01"}, key()
    )
    active = rpc.list_alliance_memberships(liujia, {"host_id": LIUJIA_ALLIANCE, "active": True})["items"]
    assert [m["id"] for m in active] == [again["id"]]
    assert count(demo_db, AllianceMembershipRow) == 3
    assert [rk for rk, _ in events(demo_db, "alliance.left")] == ["alliance.left.liujia"]
    assert len(events(demo_db, "alliance.joined")) == 3


def test_star_ratings_history_counts_and_who_decides(rpc, as_user, demo_db):
    liujia = as_user("liujia.secretary")

    def change(ctx, branch, rating, on, idem=None):
        body = {
            "branch_id": branch,
            "rating": rating,
            "effective_on": on,
            "evidence": {"text": "考评验收材料", "document_refs": ["官组通〔2026〕8号"]},
            "reason": "年度考评",
        }
        return rpc.change_star_rating(ctx, body, idem or key())

    raises("STAR_RATING_INVALID_TRANSITION", change, liujia, LIUJIA_C01_BR1, "city_4_star", "2026-01-01")
    first = change(liujia, LIUJIA_C01_BR1, "standard", "2026-01-01")
    idem = key()
    second = change(liujia, LIUJIA_C01_BR1, "city_4_star", "2026-06-01", idem)
    assert change(liujia, LIUJIA_C01_BR1, "city_4_star", "2026-06-01", idem) == second  # the same key: once
    raises("STAR_RATING_UNCHANGED", change, liujia, LIUJIA_C01_BR1, "city_4_star", "2026-07-01")
    raises("STAR_RATING_OUT_OF_ORDER", change, liujia, LIUJIA_C01_BR1, "city_5_star", "2026-05-01")
    raises(
        "ENGAGEMENT_ROLE_FORBIDDEN", change, as_user("liujia.c01.secretary"), LIUJIA_C01_BR2, "standard", "2026-01-01"
    )
    raises("ENGAGEMENT_WRONG_LEVEL", change, liujia, LIUJIA_C01, "standard", "2026-01-01")
    change(as_user("district.admin"), LIUJIA_C01_BR2, "standard", "2026-02-01")

    current = rpc.get_star_rating(liujia, LIUJIA_C01_BR1)
    assert (current["rating"], current["effective_on"]) == ("city_4_star", "2026-06-01")
    history = rpc.star_rating_history(liujia, LIUJIA_C01_BR1, {})["items"]
    assert [h["id"] for h in history] == [second["id"], first["id"]]
    assert history[0]["from_rating"] == "standard" and history[0]["decided_by"] == liujia["account_id"]

    counts = rpc.count_star_ratings(liujia)
    assert [s["street_code"] for s in counts["items"]] == ["liujia"]
    assert counts["totals"]["city_4_star"] == 1 and counts["totals"]["standard"] == 1
    branches = rpc.count_levels(liujia, node_id("/gd/liujia/"))["counts"]["branch"]
    assert counts["items"][0]["total"] == branches  # every active branch of the street, unrated ones as none
    district = rpc.count_star_ratings(as_user("district.admin"))
    every_branch = rpc.count_levels(as_user("district.admin"), node_id("/gd/"))["counts"]["branch"]
    assert len(district["items"]) == 8 and district["totals"]["none"] == every_branch - 2  # the two rated here

    four = rpc.list_star_ratings(liujia, {"rating": "city_4_star"})["items"]
    assert [r["branch_id"] for r in four] == [LIUJIA_C01_BR1]
    assert rpc.list_star_ratings(as_user("guanshang.secretary"), {"rating": "city_4_star"})["items"] == []
    raises("ORG_NOT_FOUND", rpc.get_star_rating, as_user("guanshang.secretary"), LIUJIA_C01_BR1)
    raises("ORG_NOT_FOUND", rpc.star_rating_history, as_user("liujia.c02.secretary"), LIUJIA_C01_BR1, {})
    seen, cursor = [], None
    while True:
        page = rpc.list_star_ratings(liujia, {"limit": 5, **({"cursor": cursor} if cursor else {})})
        seen += [r["branch_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == branches  # every branch of the street once, across pages

    rated = events(demo_db, "star_rating.changed")
    assert [rk for rk, _ in rated] == ["star_rating.changed.liujia"] * 3
    assert rated[1][1]["data"]["to_rating"] == "city_4_star"


def test_a_moved_community_takes_its_open_records_along(rpc, as_user):
    admin = as_user("district.admin")
    code = f"m{uuid.uuid4().hex[:6]}"
    community = rpc.create_org(
        admin, {"parent_id": node_id("/gd/liujia/"), "code": code, "name": "迁移社区", "level": "community"}, key()
    )
    reg = rpc.record_dual_registration(
        admin,
        {
            "community_id": community["id"],
            "registrant_kind": "organisation",
            "organisation": WATER,
            "registered_on": "2026-01-01",
        },
        key(),
    )
    rpc.move_org(admin, community["id"], {"new_parent_id": node_id("/gd/guanshang/"), "version": 1}, key())
    moved = rpc.get_dual_registration(as_user("guanshang.secretary"), reg["id"])
    assert (moved["org_path"], moved["street_code"]) == (f"/gd/guanshang/{code}/", "guanshang")
    raises("DUAL_REGISTRATION_NOT_FOUND", rpc.get_dual_registration, as_user("liujia.secretary"), reg["id"])


def test_unknown_ids_are_not_found(rpc, as_user):
    admin = as_user("district.admin")
    raises("DUAL_REGISTRATION_NOT_FOUND", rpc.get_dual_registration, admin, str(uuid.uuid4()))
    raises("SERVICE_REPORT_NOT_FOUND", rpc.get_service_report, admin, "not-a-uuid")
    raises("ALLIANCE_MEMBERSHIP_NOT_FOUND", rpc.get_alliance_membership, admin, str(uuid.uuid4()))


def test_the_database_refuses_a_twin_that_read_before_the_first_committed(org_db):
    """Two joins racing: the second read no open membership, yet the unique (host, open identity) refuses it."""
    db = Database(org_db)
    ctx = CallerContext.system()

    def unit() -> UnitOfWork:
        return UnitOfWork(db, service="organization", clock=SystemClock(), context=ctx)

    try:
        with unit() as uow:
            district = tree.create_root(uow, code="gd", name="官渡区", level=Level.DISTRICT)
            street = tree.create_org(
                uow, ctx, {"parent_id": district["id"], "code": "liujia", "name": "六甲街道", "level": "street"}
            )
            host = tree.create_org(
                uow, ctx, {"parent_id": street["id"], "code": "alliance", "name": "联盟", "level": "alliance"}
            )
            uow.commit()
        with unit() as uow:
            engagement.join_alliance(
                uow, ctx, AllianceJoin().load({"host_id": host["id"], "organisation": WATER, "joined_on": "2026-01-01"})
            )
            uow.commit()
        twin = AllianceMembership.join(
            id=str(uuid.uuid4()),
            host_id=host["id"],
            host_level=Level.ALLIANCE,
            org_path=host["org_path"],
            street_code="liujia",
            organisation=Organisation(WATER["name"], OrganisationKind.AGENCY, WATER["credit_code"]),
            joined_on=date(2026, 1, 2),
            commitments=[],
            open_identities=set(),  # what it read before the first one committed
            recorded_at=datetime.now(UTC),
            recorded_by=None,
        )
        with unit() as uow, pytest.raises(AlreadyJoined):
            AllianceRepository(uow.session).add(twin)
        assert count(org_db, AllianceMembershipRow) == 1
    finally:
        db.dispose()
