"""The event contract: the AsyncAPI document is valid AsyncAPI 3.0, and every event the services emit
matches the message documented for its type (checked on envelopes from the real outbox)."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import jsonschema
import pytest
from sqlalchemy import select

from kit.clock import FixedClock, SystemClock
from kit.config import Settings
from kit.context import CallerContext
from kit.db import Database
from kit.migrate import upgrade
from kit.orm import OutboxRow
from kit.uow import UnitOfWork
from organization.adapters.personal_data import PersonalDataCipher
from organization.app import accounts, engagement, four_lists, members, modules, tree
from organization.demo.__main__ import load, node_id
from organization.domain.tree import Level
from organization.schemas.engagement import (
    AllianceJoin,
    AllianceLeave,
    DualRegistrationCreate,
    DualRegistrationEnd,
    ServiceReportCreate,
    StarRatingChange,
)
from tests.contract.asyncapi import document, messages_by_type, official_schema, validate_event
from tests.member_data import id_number, phone

CIPHER = PersonalDataCipher("d" * 32, "l" * 32)


def test_the_document_is_valid_asyncapi_3():
    doc = document()
    assert doc["asyncapi"] == "3.0.0"
    jsonschema.Draft7Validator(official_schema()).validate(doc)


def test_a_broken_document_is_caught():
    broken = {**document(), "channels": {"x": {"address": 5}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(official_schema()).validate(broken)


def emitted_by_the_organization_service(tmp_path) -> list[dict]:
    url = f"sqlite:///{tmp_path / 'org.db'}"
    upgrade("organization", url)
    db = Database(url)
    ctx = CallerContext.system()

    def unit():
        return UnitOfWork(db, service="organization", clock=SystemClock(), context=ctx)

    with unit() as uow:
        district = tree.create_root(uow, code="gd", name="官渡区", level=Level.DISTRICT)
        a = tree.create_org(
            uow,
            ctx,
            {
                "parent_id": district["id"],
                "code": "liujia",
                "name": "六甲街道",
                "level": "street",
                "brand": "党建+滇池治理",
                "location": {"type": "Point", "coordinates": [102.7, 24.96]},
            },
        )
        b = tree.create_org(
            uow, ctx, {"parent_id": district["id"], "code": "taihe", "name": "太和街道", "level": "street"}
        )
        c = tree.create_org(uow, ctx, {"parent_id": a["id"], "code": "c01", "name": "六甲社区", "level": "community"})
        uow.commit()
    with unit() as uow:
        tree.rename_org(uow, ctx, c["id"], {"name": "新六甲社区", "version": 1})
        tree.move_org(uow, ctx, c["id"], {"new_parent_id": b["id"], "version": 2})
        tree.close_org(uow, ctx, c["id"], {"version": 3})
        uow.commit()
    with db.session(write=False) as session:
        bodies = [json.loads(b) for b in session.scalars(select(OutboxRow.body).order_by(OutboxRow.seq))]
    db.dispose()
    return bodies


def test_every_organization_event_matches_its_documented_message(tmp_path):
    emitted = emitted_by_the_organization_service(tmp_path)
    for envelope in emitted:
        validate_event(envelope)
    documented = {t for t in messages_by_type() if t.startswith("org.")}
    assert {e["type"] for e in emitted} == documented  # each documented type is exercised


def test_an_event_that_breaks_its_contract_is_caught(tmp_path):
    envelope = emitted_by_the_organization_service(tmp_path)[0]
    broken = {**envelope, "data": {**envelope["data"], "level": "kingdom"}}
    with pytest.raises(jsonschema.ValidationError):
        validate_event(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate_event({**envelope, "id": str(uuid.uuid4()), "dataschema": "urn:guandu:events:org.created:v9"})


def emitted_for_members(tmp_path) -> list[dict]:
    """member.registered, member.transferred and member.left from the real handlers' outbox rows."""
    url = f"sqlite:///{tmp_path / 'members.db'}"
    upgrade("organization", url)
    db = Database(url)
    ctx = CallerContext.system()

    def unit():
        return UnitOfWork(db, service="organization", clock=SystemClock(), context=ctx)

    with unit() as uow:
        district = tree.create_root(uow, code="gd", name="官渡区", level=Level.DISTRICT)
        paths = {}
        for street in ("liujia", "taihe"):
            s = tree.create_org(
                uow, ctx, {"parent_id": district["id"], "code": street, "name": street, "level": "street"}
            )
            c = tree.create_org(uow, ctx, {"parent_id": s["id"], "code": "c01", "name": "社区", "level": "community"})
            paths[street] = tree.create_org(
                uow, ctx, {"parent_id": c["id"], "code": "br1", "name": "支部", "level": "branch"}
            )
        uow.commit()
    with unit() as uow:
        body = {"branch_id": paths["liujia"]["id"], "name": "契约", "id_number": id_number(7), "phone": phone(7)}
        member = members.register_member(uow, ctx, {**body, "joined_party_on": date(2010, 1, 1)}, CIPHER)
        members.transfer_member(
            uow,
            ctx,
            member["id"],
            {"to_branch_id": paths["taihe"]["id"], "transferred_on": date(2020, 1, 1), "version": 1},
        )
        members.leave_member(uow, ctx, member["id"], {"left_on": date(2021, 1, 1), "reason": "other", "version": 2})
        uow.commit()
    with db.session(write=False) as session:
        bodies = [
            json.loads(b)
            for b in session.scalars(
                select(OutboxRow.body).where(OutboxRow.event_type.like("member.%")).order_by(OutboxRow.seq)
            )
        ]
    db.dispose()
    for envelope in bodies:
        assert id_number(7) not in json.dumps(envelope) and phone(7) not in json.dumps(envelope)
    return bodies


def test_every_member_event_matches_its_documented_message(tmp_path):
    emitted = emitted_for_members(tmp_path)
    for envelope in emitted:
        validate_event(envelope)
    documented = {t for t in messages_by_type() if t.startswith("member.")}
    assert {e["type"] for e in emitted} == documented


ENGAGEMENT_TYPES = ("dual_registration.", "service_report.", "alliance.", "star_rating.")


def emitted_by_engagement(tmp_path) -> list[dict]:
    """Every engagement event, from the real use cases on a small tree, as the outbox holds them."""
    url = f"sqlite:///{tmp_path / 'engagement.db'}"
    upgrade("organization", url)
    db = Database(url)
    ctx = CallerContext.system()
    water = {"name": "区水务局机关党支部", "kind": "agency", "credit_code": "11530111MB0000001X"}
    with UnitOfWork(db, service="organization", clock=SystemClock(), context=ctx) as uow:
        district = tree.create_root(uow, code="gd", name="官渡区", level=Level.DISTRICT)

        def org(parent, code, name, level):
            return tree.create_org(uow, ctx, {"parent_id": parent["id"], "code": code, "name": name, "level": level})

        street = org(district, "liujia", "六甲街道", "street")
        alliance = org(street, "alliance", "六甲街道党建联盟", "alliance")
        community = org(street, "c01", "六甲社区", "community")
        bpc = org(community, "bpc", "六甲社区大党委", "big_party_committee")
        branch = org(community, "br1", "六甲社区第一党支部", "branch")
        body = {"branch_id": branch["id"], "name": "张三", "id_number": id_number(8)}
        registered = members.register_member(uow, ctx, body | {"joined_party_on": date(2010, 1, 1)}, CIPHER)
        member = engagement.record_dual_registration(
            uow,
            ctx,
            DualRegistrationCreate().load(
                {
                    "community_id": community["id"],
                    "registrant_kind": "member",
                    "member_id": registered["id"],
                    "registered_on": "2026-01-01",
                }
            ),
        )
        agency = engagement.record_dual_registration(
            uow,
            ctx,
            DualRegistrationCreate().load(
                {
                    "community_id": community["id"],
                    "registrant_kind": "organisation",
                    "organisation": water,
                    "registered_on": "2026-01-01",
                    "ended_on": "2026-12-31",
                }
            ),
        )
        for reg, people in ((member, None), (agency, 25)):
            payload = {"registration_id": reg["id"], "period": "2026-11", "services": "清洁", "hours": 2.5}
            report = engagement.record_service_report(
                uow, ctx, ServiceReportCreate().load({**payload, "people_served": people})
            )
        engagement.confirm_service_report(uow, ctx, report["id"])
        engagement.end_dual_registration(uow, ctx, member["id"], DualRegistrationEnd().load({"ended_on": "2026-12-31"}))
        joined = engagement.join_alliance(
            uow,
            ctx,
            AllianceJoin().load(
                {"host_id": alliance["id"], "organisation": water, "joined_on": "2025-01-01", "commitments": ["共建"]}
            ),
        )
        engagement.join_alliance(
            uow,
            ctx,
            AllianceJoin().load(
                {"host_id": bpc["id"], "organisation": {**water, "credit_code": None}, "joined_on": "2025-01-01"}
            ),
        )
        engagement.leave_alliance(uow, ctx, joined["id"], AllianceLeave().load({"left_on": "2026-01-01"}))
        engagement.change_star_rating(
            uow,
            ctx,
            StarRatingChange().load(
                {
                    "branch_id": branch["id"],
                    "rating": "standard",
                    "effective_on": "2026-01-01",
                    "evidence": {"text": "验收材料"},
                    "reason": "达标验收",
                }
            ),
        )
        uow.commit()
    with db.session(write=False) as session:
        others = OutboxRow.event_type.not_like("org.%") & OutboxRow.event_type.not_like("member.%")
        query = select(OutboxRow.body).where(others).order_by(OutboxRow.seq)
        bodies = [json.loads(b) for b in session.scalars(query)]
    db.dispose()
    return bodies


def test_every_engagement_event_matches_its_documented_message(tmp_path):
    emitted = emitted_by_engagement(tmp_path)
    for envelope in emitted:
        validate_event(envelope)
    documented = {t for t in messages_by_type() if t.startswith(ENGAGEMENT_TYPES)}
    assert {e["type"] for e in emitted} == documented
    assert {e["streetcode"] for e in emitted} == {"liujia"}


def test_a_broken_engagement_event_is_caught(tmp_path):
    rated = next(e for e in emitted_by_engagement(tmp_path) if e["type"] == "star_rating.changed")
    with pytest.raises(jsonschema.ValidationError):
        validate_event({**rated, "data": {**rated["data"], "to_rating": "city_6_star"}})


def emitted_by_four_lists_and_accounts(tmp_path) -> list[dict]:
    """Every four-list event, account.disabled and street_modules.changed, from the real outbox after the demo
    data is loaded."""
    url = f"sqlite:///{tmp_path / 'lists.db'}"
    load(Settings.from_env("organization", {"ORGANIZATION_DATABASE_URL": url}), "Guandu@2026")
    db = Database(url)
    start_time = datetime(2026, 5, 10, 2, tzinfo=UTC)
    clock = FixedClock(start_time)
    ctx = CallerContext.system()

    def run(fn):
        with UnitOfWork(db, service="organization", clock=clock, context=ctx) as uow:
            result = fn(uow)
            uow.commit()
            return result

    with db.session(write=False) as session:
        start = session.scalar(select(OutboxRow.seq).order_by(OutboxRow.seq.desc()).limit(1)) or 0
    item = run(
        lambda uow: four_lists.create_item(
            uow,
            ctx,
            {
                "kind": "problem",
                "title": "河道垃圾",
                "due_date": date(2026, 5, 11),
                "org_id": node_id("/gd/liujia/c01/"),
            },
        )
    )
    run(lambda uow: four_lists.edit_item(uow, ctx, item["id"], {"title": "河道垃圾清理", "version": 1}))
    run(lambda uow: four_lists.change_status(uow, ctx, item["id"], {"status": "in_progress", "version": 2}))
    run(lambda uow: four_lists.add_note(uow, ctx, item["id"], {"text": "已联系河长"}))
    clock.set(start_time + timedelta(days=3))
    assert run(four_lists.scan_overdue) == 1
    secretary = run(
        lambda uow: accounts.list_accounts(uow, ctx, {"q": "liujia.c01.secretary"})["items"][0]["account_id"]
    )
    run(lambda uow: accounts.disable(uow, ctx, secretary, {"reason": "调离"}))
    taihe = node_id("/gd/taihe/")
    run(lambda uow: modules.set_street_modules(uow, ctx, taihe, {"modules": ["whistle", "river_patrol"]}))
    with db.session(write=False) as session:
        bodies = [
            json.loads(b)
            for b in session.scalars(select(OutboxRow.body).where(OutboxRow.seq > start).order_by(OutboxRow.seq))
        ]
    db.dispose()
    return bodies


def test_every_four_list_account_and_module_event_matches_its_documented_message(tmp_path):
    emitted = emitted_by_four_lists_and_accounts(tmp_path)
    for envelope in emitted:
        validate_event(envelope)
    prefixes = ("four_list_item.", "account.", "street_modules.")
    documented = {t for t in messages_by_type() if t.startswith(prefixes)}
    assert {e["type"] for e in emitted} == documented
    assert [e["type"] for e in emitted].count("four_list_item.went_overdue") == 1


def test_the_documented_modules_are_the_catalogues():
    schema = document()["components"]["schemas"]["StreetModulesChangedV1"]
    assert schema["properties"]["modules"]["items"]["enum"] == [m.code for m in modules.catalogue().modules]


def emitted_by_the_whistle_service(tmp_path) -> list[dict]:
    """Every whistle event the service emits today, from the real use cases, the deadline scan and the monthly
    close."""
    from kit.demo_tree import departments
    from whistle.app import assessment, whistles
    from whistle.app import departments as projection

    url = f"sqlite:///{tmp_path / 'whistle.db'}"
    upgrade("whistle", url)
    db = Database(url)
    clock = FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    resident = CallerContext("resident", "/gd/wujing/c01/", uuid.uuid4().hex, account_id=str(uuid.uuid4()))
    secretary = CallerContext("community_secretary", "/gd/wujing/c01/", uuid.uuid4().hex, str(uuid.uuid4()))

    def desk(code: str) -> CallerContext:
        return CallerContext("department", f"/departments/{code}/", uuid.uuid4().hex, str(uuid.uuid4()), code)

    def run(ctx, fn):
        with UnitOfWork(db, service="whistle", clock=clock, context=ctx) as uow:
            result = fn(uow)
            uow.commit()
            return result

    system = CallerContext.system()
    for d in departments():
        event = {"time": "2026-01-01T00:00:00Z", "data": {"id": str(uuid.uuid4()), "code": d.code, "name": d.name,
                 "org_path": d.org_path, "level": "department"}}  # fmt: skip
        run(system, lambda uow, event=event: projection.on_org_created(uow, event))
    body = {"description": "河边暗管排污", "situation_code": "sewage_outfall",
            "location": {"type": "Point", "coordinates": [102.72, 25.04]}}  # fmt: skip
    wid = run(resident, lambda uow: whistles.create_whistle(uow, resident, body))["id"]

    def move(ctx, use_case, data=None):
        run(ctx, lambda uow: use_case(uow, ctx, wid, data or {}))

    move(secretary, whistles.blow)
    twin = run(resident, lambda uow: whistles.create_whistle(uow, resident, body))["id"]  # raised twice
    run(secretary, lambda uow: whistles.merge(uow, secretary, twin, {"into": wid, "reason": "同一排污口"}))
    clock.advance(timedelta(hours=2, minutes=1))
    run(system, whistles.scan_deadlines)  # reminded
    clock.advance(timedelta(hours=2))
    run(system, whistles.scan_deadlines)  # overdue, escalated
    move(desk("water"), whistles.report_in)
    asked = {"requested_due_at": clock.now() + timedelta(days=10), "reason": "等配件"}
    move(desk("water"), whistles.request_extension, asked)
    move(secretary, whistles.approve_extension, {"department": "water"})
    again = {"requested_due_at": clock.now() + timedelta(days=30), "reason": "再等配件"}
    move(desk("water"), whistles.request_extension, again)
    move(secretary, whistles.refuse_extension, {"department": "water", "reason": "时间够用"})
    move(secretary, whistles.pause, {"reason": "等居民在家开门"})
    clock.advance(timedelta(hours=3))
    move(secretary, whistles.resume)
    move(desk("ecoenv"), whistles.send_back, {"reason": "属水务管网"})
    move(secretary, whistles.redispatch, {"lead": "water", "assisting": [], "reason": "改派"})
    move(desk("water"), whistles.handle, {"result": "已封堵", "evidence": []})
    move(resident, whistles.give_feedback, {"satisfaction": "not", "comment": ""})
    move(resident, whistles.reopen, {"reason": "还在排"})
    move(secretary, whistles.redispatch, {"lead": "ecoenv", "assisting": ["water"], "reason": ""})
    move(desk("ecoenv"), whistles.report_in)
    move(desk("ecoenv"), whistles.handle, {"result": "已查处", "evidence": ["笔录"]})
    move(resident, whistles.give_feedback, {"satisfaction": "satisfied", "comment": "好"})
    move(secretary, whistles.assess, {"rating": 5, "comment": ""})
    move(secretary, whistles.close)
    clock.advance(timedelta(days=30))  # March has ended in Asia/Shanghai: the month closes
    assert run(system, assessment.close_months) == ["2026-03"]
    with db.session(write=False) as session:
        bodies = [
            json.loads(b)
            for b in session.scalars(
                select(OutboxRow.body).where(OutboxRow.exchange == "whistle.events").order_by(OutboxRow.seq)
            )
        ]
    db.dispose()
    return bodies


def test_every_whistle_event_matches_its_documented_message(tmp_path):
    emitted = emitted_by_the_whistle_service(tmp_path)
    for envelope in emitted:
        validate_event(envelope)
    documented = {t for t in messages_by_type() if t.startswith("whistle.")}
    assert {e["type"] for e in emitted} == documented
    broken = next(e for e in emitted if e["type"] == "whistle.escalated")
    with pytest.raises(jsonschema.ValidationError):
        validate_event({**broken, "data": {**broken["data"], "level": "province"}})
