"""Whistles end to end (吹哨报到), over HTTP through the gateway with the services as processes: a resident of 吴井
community raises a problem, the 吴井 community secretary blows it, the two summoned departments report in (the
lead through the gateway, water's own system over RabbitMQ as its broker user), the lead handles it, the
resident is satisfied, the secretary assesses and closes it; scope and illegal moves on
the way."""

import base64
import importlib.util
import json
import uuid
from datetime import UTC, datetime

import requests

from kit.clock import local_month
from kit.config import repo_root
from kit.departments import system_permissions
from kit.harness import broker_user, wait_for
from kit.testing import tamper_with_audit_entry
from organization.demo.__main__ import node_id
from tests.e2e.test_orgs import is_problem

WUJING = "/gd/wujing/c01/"  # 吴井社区
WHISTLES = "/api/v1/whistles"
PNG = b"\x89PNG\r\n\x1a\n"  # what a PNG starts with: the service trusts the bytes, not a declared type


def _example_client():
    """examples/department_client.py, as a department's system runs it (it imports nothing of the suite)."""
    spec = importlib.util.spec_from_file_location("department_client", repo_root() / "examples/department_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CLIENT = _example_client()


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _resident(suite, as_user) -> requests.Session:
    """A resident of 吴井 community, created by the street's secretary as any new resident would be."""
    name = f"wujing.resident.{uuid.uuid4().hex[:6]}"
    body = {"username": name, "display_name": "吴井社区居民", "role": "resident", "org_id": node_id(WUJING)}
    created = as_user("wujing.secretary").post("/api/v1/accounts", json=body, headers=_key())
    assert created.status_code == 201, created.text
    password = created.json()["temporary_password"]
    token = requests.post(
        f"{suite.base_url}/api/v1/auth/token", json={"username": name, "password": password}, timeout=10
    )
    assert token.status_code == 200, token.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return session


def test_a_residents_problem_goes_from_the_whistle_to_closed(suite, as_user):
    resident = _resident(suite, as_user)
    url = suite.base_url + WHISTLES
    raised = resident.post(url, json={"description": "小区旁河道有排污口在排黑水", "situation_code": "sewage_outfall"},
                           headers=_key(), timeout=30)  # fmt: skip
    assert raised.status_code == 201, raised.text
    whistle = raised.json()
    assert (whistle["state"], whistle["org_path"], whistle["street_code"]) == ("collected", WUJING, "wujing")
    assert raised.headers["Location"].endswith(f"{WHISTLES}/{whistle['id']}")
    path = f"{WHISTLES}/{whistle['id']}"

    secretary = as_user("wujing.c01.secretary")
    other_street = as_user("liujia.secretary")
    is_problem(other_street.get(path), 404, "WHISTLE_NOT_FOUND")  # another street's secretary: as if none
    is_problem(as_user("ecoenv.desk").post(f"{path}/report-in", json={}, headers=_key()), 404)  # not summoned yet

    # The departments the whistle summons come from organization's events (replayed on whistle's first start).
    blow = _key()
    blown = wait_for(
        lambda: (r := secretary.post(f"{path}/blow", json={}, headers=blow)).status_code == 200 and r,
        timeout=30,
        what="the whistle service to know the departments",
    )
    whistle = blown.json()
    assert whistle["state"] == "blown" and whistle["lead"] == "ecoenv"
    assert {(d["code"], d["role"]) for d in whistle["departments"]} == {("ecoenv", "lead"), ("water", "assisting")}
    assert all(d["report_in_due"] and d["resolution_due"] for d in whistle["departments"])
    is_problem(secretary.post(f"{path}/close", json={}, headers=_key()), 409, "WHISTLE_INVALID_TRANSITION")
    assert secretary.get(path).json()["state"] == "blown"  # the illegal move changed nothing

    paused = secretary.post(f"{path}/pause", json={"reason": "等居民在家开门"}, headers=_key())
    assert paused.status_code == 200 and paused.json()["state"] == "paused", paused.text
    assert {c["status"] for c in paused.json()["deadlines"]} == {"paused"}  # every clock stands still
    resumed = secretary.post(f"{path}/resume", json={}, headers=_key())
    assert resumed.status_code == 200 and resumed.json()["state"] == "blown", resumed.text
    is_problem(secretary.post(f"{path}/resume", json={}, headers=_key()), 409, "WHISTLE_INVALID_TRANSITION")
    is_problem(as_user("ecoenv.desk").post(f"{path}/pause", json={"reason": "x"}, headers=_key()), 403)

    # The lead reports in through the gateway; water's own system over RabbitMQ, as its broker user.
    reported = as_user("ecoenv.desk").post(f"{path}/report-in", json={}, headers=_key())
    assert reported.status_code == 200, reported.text
    with broker_user(suite.env["AMQP_URI"], "water.system", system_permissions("water")) as uri:
        conn = CLIENT.connect(uri)
        try:
            channel = conn.channel()
            command = CLIENT.command_envelope(
                "report_in", department="water", whistle_id=whistle["id"], street="wujing", org_path=WUJING
            )
            CLIENT.publish_command(channel, command, user_id="water.system")

            def stage(code: str) -> str:
                return next(d["stage"] for d in secretary.get(path).json()["departments"] if d["code"] == code)

            wait_for(lambda: stage("water") == "reported_in", timeout=30, what="water's system's report-in")
            seen: list[dict] = []

            def answered() -> bool:
                while (message := channel.basic_get("department.water", no_ack=True)) is not None:
                    seen.append(json.loads(message.body))
                return any(e["type"] == "department_command.accepted" for e in seen)

            wait_for(answered, timeout=30, what="the accepted answer in department.water")
            blown_copy = [e for e in seen if e["type"] == "whistle.blown" and e["subject"] == whistle["id"]]
            assert len(blown_copy) == 1  # the summons waited in water's queue until its system came to read it
        finally:
            conn.close()
    is_problem(as_user("housing.desk").post(f"{path}/report-in", json={}, headers=_key()), 404)  # not summoned
    is_problem(as_user("water.desk").post(f"{path}/handle", json={"result": "已处理"}, headers=_key()), 403)

    lead = as_user("ecoenv.desk")
    not_a_photo = {"result": "已处理", "photos": [base64.b64encode(b"<svg onload=alert(1)>").decode()]}
    is_problem(lead.post(f"{path}/handle", json=not_a_photo, headers=_key()), 422, "PHOTO_TYPE_NOT_ALLOWED")
    assert lead.get(path).json()["state"] == "blown"  # the refused result changed nothing
    photo = PNG + uuid.uuid4().bytes
    handled = lead.post(
        f"{path}/handle",
        json={
            "result": "已封堵排污口，责令整改",
            "evidence": ["现场照片"],
            "photos": [base64.b64encode(photo).decode()],
        },
        headers=_key(),
    )
    assert handled.status_code == 200 and handled.json()["state"] == "handled", handled.text
    (key,) = handled.json()["photos"]
    shown = resident.get(suite.base_url + f"{path}/photos/{key}", timeout=30)
    assert (shown.status_code, shown.headers["Content-Type"], shown.content) == (200, "image/png", photo)
    is_problem(other_street.get(f"{path}/photos/{key}"), 404)  # not theirs: as if there were none
    is_problem(secretary.get(f"{path}/photos/{'0' * 64}"), 404)  # not this whistle's photo
    feedback = resident.post(
        suite.base_url + f"{path}/feedback", json={"satisfaction": "satisfied"}, headers=_key(), timeout=30
    )
    assert feedback.status_code == 200, feedback.text
    assert secretary.post(f"{path}/assess", json={"rating": 5}, headers=_key()).status_code == 200
    closed = secretary.post(f"{path}/close", json={}, headers=_key())
    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["satisfaction"], closed.json()["rating"]) == (
        "closed",
        "satisfied",
        5,
    )

    history = secretary.get(f"{path}/history").json()["entries"]
    assert [e["action"] for e in history] == [
        *("whistle.collected", "whistle.blown", "whistle.paused", "whistle.resumed"),
        *("whistle.reported_in", "whistle.reported_in"),
        *("department_command.accepted", "whistle.handled", "whistle.feedback_given", "whistle.assessed"),
        "whistle.closed",
    ]
    assert history[5]["actor_account_id"] == "water.system"  # the command's sender, as the broker vouched
    assert [e["seq"] for e in history] == list(range(1, 12))
    sound = resident.get(suite.base_url + f"{path}/history/verify", timeout=30).json()
    assert (sound["sound"], sound["entries"], sound["first_broken_seq"]) == (True, 11, None)
    is_problem(other_street.get(f"{path}/history"), 404)

    month = {"month": local_month(datetime.now(UTC))}
    figures = as_user("ecoenv.desk").get("/api/v1/whistle-stats", params=month).json()["items"]
    assert [(f["key"], f["summonses"] >= 1, f["answered"] >= 1) for f in figures] == [("ecoenv", True, True)]
    district = as_user("district.admin").get("/api/v1/whistle-stats", params=month).json()["items"]
    assert {"ecoenv", "water"} <= {f["key"] for f in district}

    # Someone with the database drops the triggers and rewrites the department's report-in: /verify names it.
    tamper_with_audit_entry(suite.env["WHISTLE_DATABASE_URL"], "whistle", whistle["id"], 5, data='{"forged": true}')
    broken = secretary.get(f"{path}/history/verify").json()
    assert (broken["sound"], broken["first_broken_seq"], broken["reason"]) == (False, 5, "hash")

    mine = resident.get(url, timeout=30).json()["items"]
    assert [w["id"] for w in mine] == [whistle["id"]]  # a resident sees what they raised, nothing else
    listed = secretary.get(WHISTLES, params={"state": "closed", "department": "water"}).json()["items"]
    assert whistle["id"] in [w["id"] for w in listed]


def test_the_catalogue_is_readable_by_every_role_and_bad_filters_are_problems(as_user):
    member = as_user("demo.member")
    kinds = member.get("/api/v1/whistle-kinds")
    assert kinds.status_code == 200
    assert {k["code"]: k["situations"] for k in kinds.json()["items"]} == {
        "problem": 20,
        "service": 10,
        "tackling": 8,
        "emergency": 8,
    }
    emergency = member.get("/api/v1/situations", params={"kind": "emergency"}).json()
    assert len(emergency["items"]) == 8 and all(s["kind"] == "emergency" for s in emergency["items"])
    is_problem(member.get("/api/v1/situations", params={"kind": "fire"}), 422)
    is_problem(member.get("/api/v1/situations", params={"on": "0000-01-01"}), 422)
    is_problem(member.get(WHISTLES, params={"created_from": "not a time"}), 422)
    is_problem(as_user("wujing.secretary").post("/api/v1/catalogue-versions", json={}, headers=_key()), 403)


def test_the_notification_delivery_log_is_the_district_admins(as_user):
    log = as_user("district.admin").get("/api/v1/notification-deliveries", params={"limit": 5})
    assert log.status_code == 200, log.text
    assert set(log.json()) == {"items", "next_cursor"} and len(log.json()["items"]) <= 5
    is_problem(as_user("wujing.secretary").get("/api/v1/notification-deliveries"), 403)
    is_problem(as_user("district.admin").get("/api/v1/notification-deliveries", params={"channel": "fax"}), 422)


def test_a_problem_raised_twice_is_found_and_merged_over_http(suite, as_user):
    """重复诉求 through the gateway: two residents report the same blocked drain 20 m apart; the secretary finds
    the repeat, merges it, and a merge of another situation is a 409 problem that changes nothing."""
    secretary = as_user("wujing.c01.secretary")
    url = suite.base_url + WHISTLES

    def raise_at(lon: float, situation: str = "drain_blocked") -> str:
        body = {"description": "小区门口下水道堵了，污水漫到路上", "situation_code": situation,
                "location": {"type": "Point", "coordinates": [lon, 25.0400]}}  # fmt: skip
        raised = _resident(suite, as_user).post(url, json=body, headers=_key(), timeout=30)
        assert raised.status_code == 201, raised.text
        return str(raised.json()["id"])

    first, again, noise = raise_at(102.7200), raise_at(102.7202), raise_at(102.7201, "noise_nuisance")
    found = secretary.get(f"{WHISTLES}/{again}/duplicates")
    assert found.status_code == 200, found.text
    assert [w["id"] for w in found.json()["items"]] == [first]
    refused = secretary.post(f"{WHISTLES}/{noise}/merge", json={"into": first}, headers=_key())
    is_problem(refused, 409, "WHISTLE_NOT_DUPLICATE")
    assert secretary.get(f"{WHISTLES}/{noise}").json()["state"] == "collected"
    is_problem(secretary.post(f"{WHISTLES}/{again}/merge", json={"into": "x"}, headers=_key()), 422)
    merged = secretary.post(f"{WHISTLES}/{again}/merge", json={"into": first, "reason": "同一处"}, headers=_key())
    assert merged.status_code == 200, merged.text
    assert (merged.json()["state"], merged.json()["merged_into"]) == ("merged", first)
    assert secretary.get(f"{WHISTLES}/{first}/history/verify").json()["sound"] is True
