"""The situation catalogue through RPC: the shipped version 1 loaded at first start, the version in effect on a
day, and a district admin publishing version 2 (checked against the departments projection; old versions
stay, and a whistle keeps the version it was blown under)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kit.errors import ServiceError
from tests.integration.whistle.conftest import ctx, key

ADMIN = ctx("district_admin", "/gd/")
SECRETARY = ctx("community_secretary", "/gd/wujing/c01/")


def situation(code: str, lead: str = "water", **extra) -> dict:
    return {"code": code, "kind": "problem", "name": "积水", "standard": "抽排", "lead": lead, **extra}


def test_the_shipped_catalogue_is_version_1_with_46_situations(rpc):
    kinds = rpc.list_kinds(SECRETARY)
    assert kinds["version"] == 1
    assert [(k["code"], k["situations"]) for k in kinds["items"]] == [
        ("problem", 20), ("service", 10), ("tackling", 8), ("emergency", 8)
    ]  # fmt: skip
    emergency = next(k for k in kinds["items"] if k["code"] == "emergency")
    assert emergency["report_in"] == {"amount": 1, "unit": "hours"}
    assert len(rpc.list_situations(SECRETARY)["items"]) == 46
    gas = [s for s in rpc.list_situations(SECRETARY, "emergency")["items"] if s["code"] == "gas_leak"]
    assert gas[0]["lead"] == "gas" and gas[0]["resolution"] == {"amount": 12, "unit": "hours"}
    assert rpc.catalogue_version(SECRETARY, 1)["effective_from"] == "2025-01-01"
    with pytest.raises(ServiceError) as missing:
        rpc.catalogue_version(SECRETARY, 7)
    assert missing.value.code == "WHISTLE_CATALOGUE_VERSION_NOT_FOUND"
    with pytest.raises(ServiceError) as before:
        rpc.list_situations(SECRETARY, None, "2024-12-31")
    assert before.value.kind == "not_found"


def test_a_district_admin_publishes_a_version_that_takes_effect_from_its_day(rpc, clock):
    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()
    doc = {"version": 2, "effective_from": tomorrow, "situations": [situation("flooded_cellar")]}
    for caller in (SECRETARY, ctx("department", "/departments/water/", "water")):
        with pytest.raises(ServiceError) as refused:
            rpc.publish_catalogue(caller, doc, key())
        assert refused.value.code == "WHISTLE_FORBIDDEN" and refused.value.kind == "forbidden"
    with pytest.raises(ServiceError) as bad:
        rpc.publish_catalogue(ADMIN, {**doc, "situations": [situation("x", lead="nosuch")]}, key())
    assert bad.value.kind == "invalid" and "situations[0].lead" in bad.value.errors
    with pytest.raises(ServiceError) as skipped:
        rpc.publish_catalogue(ADMIN, {**doc, "version": 3}, key())
    assert skipped.value.code == "WHISTLE_CATALOGUE_VERSION_REFUSED" and skipped.value.kind == "conflict"
    with pytest.raises(ServiceError) as past:
        rpc.publish_catalogue(ADMIN, {**doc, "effective_from": "2025-06-01"}, key())
    assert past.value.code == "WHISTLE_CATALOGUE_VERSION_REFUSED"

    # a whistle blown today stays under version 1 for life
    wid = rpc.create_whistle(SECRETARY, {"description": "地下室进水"}, key())["id"]
    rpc.blow(SECRETARY, wid, {"situation_code": "waterlogging"}, key())

    published = rpc.publish_catalogue(ADMIN, doc, key())
    assert published["version"] == 2 and [s["code"] for s in published["situations"]] == ["flooded_cellar"]
    assert rpc.list_situations(SECRETARY)["version"] == 1  # not yet in effect
    assert rpc.list_situations(SECRETARY, None, tomorrow)["version"] == 2
    clock.advance(timedelta(days=1))
    assert [s["code"] for s in rpc.list_situations(SECRETARY)["items"]] == ["flooded_cellar"]
    assert len(rpc.catalogue_version(SECRETARY, 1)["situations"]) == 46  # the old version stays
    assert rpc.get_whistle(SECRETARY, wid)["catalogue_version"] == 1
    with pytest.raises(ServiceError) as gone:  # no longer a situation to raise for
        rpc.create_whistle(SECRETARY, {"description": "又进水", "situation_code": "waterlogging"}, key())
    assert gone.value.code == "WHISTLE_UNKNOWN_SITUATION"
