"""Bad input gets a clear problem+json answer and changes nothing."""

import base64
import json
import re

import pytest

from organization.demo.__main__ import node_id
from tests.e2e.test_four_lists import new_item
from tests.e2e.test_orgs import DISTRICT, LIUJIA_C01, is_problem

LIUJIA_C02 = node_id("/gd/liujia/c02/")
LIUJIA_C02_A1 = node_id("/gd/liujia/c02/a1/")
LIUJIA_C02_A1_B1 = node_id("/gd/liujia/c02/a1/b1/")


def snapshot(admin) -> tuple:
    counts = admin.get(f"/api/v1/orgs/{DISTRICT}/counts").json()["counts"]
    area = admin.get(f"/api/v1/orgs/{LIUJIA_C02_A1}").json()
    return counts, area["version"], area["org_path"], area["name"]


GOOD = {"parent_id": LIUJIA_C01, "code": "zz1", "name": "测试", "level": "area"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**GOOD, "parent_id": 12}, 422),  # wrong type
        ({**GOOD, "level": ["area"]}, 422),  # wrong type
        ({k: v for k, v in GOOD.items() if k != "name"}, 422),  # missing field
        ({**GOOD, "colour": "red"}, 422),  # unknown field
        ({**GOOD, "level": "street"}, 422),  # wrong level under a community
        ({**GOOD, "code": "Bad Code"}, 422),
        ({**GOOD, "location": {"type": "Point", "coordinates": [999, 0]}}, 422),
        ({**GOOD, "name": ""}, 422),
    ],
)
def test_bad_creations_are_refused_and_change_nothing(as_user, body, status):
    admin = as_user("district.admin")
    before = snapshot(admin)
    problem = is_problem(admin.post("/api/v1/orgs", json=body), status)
    assert problem["detail"]
    if status == 422 and problem["code"] == "VALIDATION_FAILED":
        assert problem["errors"]
    assert snapshot(admin) == before


def test_a_cycle_is_refused(as_user):
    admin = as_user("district.admin")
    before = snapshot(admin)
    is_problem(
        admin.post(f"/api/v1/orgs/{LIUJIA_C02_A1}/move", json={"new_parent_id": LIUJIA_C02_A1_B1, "version": 1}),
        422,
        "ORG_CYCLE",
    )
    assert snapshot(admin) == before


def test_malformed_json_is_400(as_user):
    admin = as_user("district.admin")
    before = snapshot(admin)
    response = admin.post("/api/v1/orgs", data=b'{"parent_id": ', headers={"Content-Type": "application/json"})
    is_problem(response, 400)
    assert snapshot(admin) == before


def test_a_body_over_the_limit_is_413(as_user):
    admin = as_user("district.admin")
    before = snapshot(admin)
    huge = {**GOOD, "name": "x" * (2 * 1024 * 1024)}
    is_problem(admin.post("/api/v1/orgs", json=huge), 413)
    assert snapshot(admin) == before


def test_bad_query_parameters_are_422(as_user):
    admin = as_user("district.admin")
    is_problem(admin.get("/api/v1/orgs", params={"limit": 1000}), 422)
    is_problem(admin.get("/api/v1/orgs", params={"sort": "password"}), 422)
    is_problem(admin.get(f"/api/v1/orgs/{DISTRICT}/subtree", params={"depth": "deep"}), 422)


def test_a_stale_move_is_409_and_changes_nothing(as_user):
    admin = as_user("district.admin")
    before = snapshot(admin)
    is_problem(
        admin.post(f"/api/v1/orgs/{LIUJIA_C02_A1}/move", json={"new_parent_id": LIUJIA_C01, "version": 99}),
        409,
        "ORG_STALE",
    )
    assert snapshot(admin) == before


def test_no_token_is_401_and_a_garbage_token_too(anonymous):
    is_problem(anonymous.get("/api/v1/orgs"), 401)
    response = anonymous.get("/api/v1/orgs", headers={"Authorization": "Bearer not.a.jwt"})
    is_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("period", ["0000-01", "9999-12"])
def test_a_period_outside_the_calendar_is_422(as_user, period):
    """Year 0 reached datetime.date, and 9999-12 has no following month: both were a 500 (found by the fuzzer)."""
    admin = as_user("district.admin")
    for path in ("/api/v1/dual-registrations", "/api/v1/service-reports"):
        problem = is_problem(admin.get(path, params={"period": period}), 422)
        assert "period" in problem["errors"]["query"]
    report = {"registration_id": "5a0f8f9e-5f5e-4a36-9e7b-2b8f3c1d0a11", "period": period, "services": "x", "hours": 1}
    problem = is_problem(admin.post("/api/v1/service-reports", json=report), 422)
    assert "period" in problem["errors"]["json"]


def test_a_cursor_no_list_gave_out_is_400(as_user):
    """A cursor's values reached the database unchecked: a 500 on every list (found by fuzzing)."""
    admin = as_user("district.admin")
    forged = base64.urlsafe_b64encode(b'[{"a": 1}, null]').decode().rstrip("=")
    for path in ("/api/v1/orgs", "/api/v1/members", "/api/v1/dual-registrations", "/api/v1/four-lists"):
        is_problem(admin.get(path, params={"cursor": forged}), 400, "PAGE_CURSOR_INVALID")


def test_a_cursor_outside_base64_is_422(as_user):
    """500 non-ASCII characters, percent-encoded, overran gunicorn's request line: a 414 in text/html (found by
    the fuzzer). A cursor is URL-safe base64, as every list gives it out."""
    problem = is_problem(as_user("district.admin").get("/api/v1/orgs", params={"cursor": "ç" * 500}), 422)
    assert "cursor" in problem["errors"]["query"]


@pytest.mark.parametrize(
    "query",
    [{"since": "0001-01-01T00:00:00+08:00"}, {"until": "9999-12-31T23:59:59-08:00"}, {"since": "1899-12-31T23:59:59Z"}],
)
def test_an_access_log_time_outside_the_storable_range_is_422(as_user, query):
    """Times are compared in UTC, where year 1 at +08:00 is before year 1: an OverflowError, a 500 (found by the
    fuzzer's kind of input)."""
    problem = is_problem(as_user("district.admin").get("/api/v1/access-log", params=query), 422)
    assert set(problem["errors"]["query"]) == set(query)


def test_a_due_date_without_an_end_is_422_and_changes_nothing(as_user):
    """An item is overdue from the end of its day in Asia/Shanghai; 9999-12-31 has none: it was a 500."""
    admin = as_user("district.admin")
    newest = {"sort": "-created_at", "limit": 5}
    item = new_item(admin)
    before = admin.get("/api/v1/four-lists", params=newest).json()["items"]
    created = admin.post("/api/v1/four-lists", json={"kind": "problem", "title": "t", "due_date": "9999-12-31"})
    assert "due_date" in is_problem(created, 422)["errors"]["json"]
    changed = admin.patch(
        f"/api/v1/four-lists/{item['id']}", json={"version": item["version"], "due_date": "9999-12-31"}
    )
    assert "due_date" in is_problem(changed, 422)["errors"]["json"]
    assert admin.get("/api/v1/four-lists", params=newest).json()["items"] == before


def test_a_request_line_too_long_is_a_414_problem(as_user):
    """gunicorn refuses a request line over 4,094 bytes before the app sees it; it answered in text/html (the
    fuzzer's repeated junk query parameters reached 5,054)."""
    is_problem(as_user("district.admin").get("/api/v1/orgs", params={"q": "x" * 5000}), 414, "URI_TOO_LONG")


# -- what no route takes, sent to every route of the OpenAPI document (issue 10 §3) ---------------------------
HOSTILE_BODIES = {
    "lone surrogate": '{"name": "\\ud800", "title": "\\udfff"}',
    "NUL": '{"name": "a\\u0000b"}',
    "1,000 deep": "[" * 1000 + "]" * 1000,
    "33 deep object": '{"a": ' * 33 + "1" + "}" * 33,
}
CURSOR_VALUES = ([None, None], [1, 2], [1e308, "x"], [[1], {"a": 1}], [{"a": [1, {"b": None}]}, "x"])


def _operations(anonymous) -> list[tuple[str, str, dict]]:
    spec = anonymous.get("/openapi.json").json()
    found = []
    for path, methods in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "0b4e2b6e-4d1c-4c5e-9f51-6f1d7c0b9a10", path)
        found += [
            (method.upper(), concrete, op)
            for method, op in methods.items()
            if method in ("get", "post", "put", "patch")
        ]
    return found


def _refused_cleanly(answer) -> None:
    assert answer.status_code in (400, 403, 404, 413, 415, 422), (
        answer.request.method,
        answer.request.url,
        answer.text,
    )
    assert answer.headers["Content-Type"].startswith("application/problem+json")


def test_every_json_body_route_refuses_what_no_route_takes_with_a_400(as_user, anonymous):
    """Lone surrogates (which made even the public login answer 500), NUL, and JSON nested past 32 levels are
    refused before any schema or service sees them, on every route that takes a JSON body."""
    admin = as_user("district.admin")
    sent = 0
    for method, path, op in _operations(anonymous):
        if "application/json" not in op.get("requestBody", {}).get("content", {}):
            continue
        for label, raw in HOSTILE_BODIES.items():
            answer = admin.session.request(
                method, admin.base + path, data=raw.encode(), headers={"Content-Type": "application/json"}, timeout=30
            )
            _refused_cleanly(answer)
            assert answer.status_code == 400 and answer.json()["code"] == "BODY_TEXT_INVALID", (label, path)
            sent += 1
    assert sent > 40


def test_a_lone_surrogate_in_the_public_login_is_400_not_500(anonymous):
    raw = '{"username": "\\ud800", "password": "x"}'
    answer = anonymous.session.post(
        anonymous.base + "/api/v1/auth/token", data=raw, headers={"Content-Type": "application/json"}, timeout=10
    )
    is_problem(answer, 400, "BODY_TEXT_INVALID")


def test_every_list_refuses_a_cursor_of_the_wrong_types(as_user, anonymous):
    admin = as_user("district.admin")
    lists = [
        path
        for method, path, op in _operations(anonymous)
        if method == "GET" and any(p.get("name") == "cursor" for p in op.get("parameters", []))
    ]
    assert len(lists) >= 10
    for path in lists:
        for values in CURSOR_VALUES:
            cursor = base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
            _refused_cleanly(admin.get(path, params={"cursor": cursor}))


def test_nul_in_a_query_is_400_and_control_characters_in_names_and_titles_are_422(as_user):
    admin = as_user("district.admin")
    is_problem(admin.get("/api/v1/orgs", params={"q": "a\x00b"}), 400, "QUERY_TEXT_INVALID")
    before = snapshot(admin)
    for name in ("名\x07字", "line\nbreak", "esc\x1b[31m", "del\x7f"):
        problem = is_problem(admin.post("/api/v1/orgs", json={**GOOD, "name": name}), 422)
        assert "name" in problem["errors"]["json"]
        area = admin.get(f"/api/v1/orgs/{LIUJIA_C02_A1}").json()
        renamed = admin.patch(f"/api/v1/orgs/{LIUJIA_C02_A1}", json={"name": name, "version": area["version"]})
        assert "name" in is_problem(renamed, 422)["errors"]["json"]
    titled = admin.post("/api/v1/four-lists", json={"kind": "problem", "title": "标题\x00", "due_date": "2030-01-01"})
    is_problem(titled, 400, "BODY_TEXT_INVALID")
    titled = admin.post("/api/v1/four-lists", json={"kind": "problem", "title": "标\x0b题", "due_date": "2030-01-01"})
    assert "title" in is_problem(titled, 422)["errors"]["json"]
    described = {"kind": "problem", "title": "标题", "due_date": "2030-01-01", "description": "第一行\n第二行\t完"}
    created = admin.post("/api/v1/four-lists", json=described)  # a description keeps its line breaks and tabs
    assert created.status_code == 201 and created.json()["description"] == described["description"], created.text
    assert snapshot(admin) == before
