"""Secretaries' four lists over HTTP: each secretary's own view and the level above's, scope (404), roles
(403), bad input (422, nothing changed), illegal moves and stale versions (409), and items going overdue."""

import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from kit.clock import SHANGHAI
from kit.harness import Subscriber, wait_for
from organization.demo.__main__ import node_id
from tests.e2e.test_orgs import is_problem

LISTS = "/api/v1/four-lists"


def today() -> datetime:
    return datetime.now(SHANGHAI)


def new_item(client, **extra) -> dict:
    body = {"kind": "problem", "title": f"问题 {uuid.uuid4().hex[:6]}", "due_date": "2030-01-31", **extra}
    response = client.post(LISTS, json=body)
    assert response.status_code == 201, response.text
    assert response.headers["Location"].endswith(response.json()["id"])
    return response.json()


def ids(response) -> set[str]:
    """The ids of a listing, following `next_cursor` with the same request (the demo fills these lists)."""
    found: set[str] = set()
    while True:
        assert response.status_code == 200, response.text
        found |= {i["id"] for i in response.json()["items"]}
        cursor = response.json().get("next_cursor")
        if not cursor:
            return found
        url = urlsplit(response.url)
        query = urlencode([*((k, v) for k, v in parse_qsl(url.query) if k != "cursor"), ("cursor", cursor)])
        response = requests.get(url._replace(query=query).geturl(), headers=dict(response.request.headers), timeout=30)


def test_a_community_item_is_in_its_own_view_and_the_street_view_below(as_user):
    c02 = as_user("wujing.c02.secretary")
    street = as_user("wujing.secretary")
    item = new_item(c02, kind="responsibility", description="落实网格员责任")
    assert item["org_path"] == "/gd/wujing/c02/" and item["status"] == "open" and item["version"] == 1
    assert item["id"] in ids(c02.get(LISTS))
    assert item["id"] in ids(c02.get(LISTS, params={"scope": "own", "kind": "responsibility"}))
    assert item["id"] not in ids(street.get(LISTS))  # the street's own list holds the street's own items
    assert item["id"] in ids(street.get(LISTS, params={"scope": "below"}))
    assert item["id"] in ids(as_user("district.admin").get(LISTS, params={"scope": "below", "street_code": "wujing"}))
    street_item = new_item(street, kind="project")
    assert street_item["org_path"] == "/gd/wujing/"
    assert street_item["id"] in ids(street.get(LISTS)) and street_item["id"] not in ids(c02.get(LISTS))
    assigned = new_item(street, org_id=node_id("/gd/wujing/c03/"))  # the level above assigns to a community
    c03 = as_user("wujing.c03.secretary")
    assert assigned["org_path"] == "/gd/wujing/c03/"
    assert assigned["owner_account_id"] == c03.get("/api/v1/me").json()["account_id"]  # the node's secretary
    assert assigned["id"] in ids(c03.get(LISTS))


def test_other_streets_items_do_not_exist_for_them(as_user):
    item = new_item(as_user("wujing.c01.secretary"))
    for who in ("taihe.secretary", "wujing.c02.secretary"):
        other = as_user(who)
        is_problem(other.get(f"{LISTS}/{item['id']}"), 404, "FOUR_LIST_ITEM_NOT_FOUND")
        is_problem(
            other.post(f"{LISTS}/{item['id']}/status", json={"status": "done", "version": 1}),
            404,
            "FOUR_LIST_ITEM_NOT_FOUND",
        )
        assert item["id"] not in ids(other.get(LISTS, params={"scope": "below"}))
    is_problem(
        as_user("taihe.secretary").post(
            LISTS, json={"kind": "project", "title": "x", "due_date": "2030-01-01", "org_id": node_id("/gd/wujing/")}
        ),
        404,
        "ORG_NOT_FOUND",
    )


@pytest.mark.parametrize("who", ["water.desk"])
def test_roles_without_four_lists_are_forbidden(as_user, who):
    is_problem(as_user(who).get(LISTS), 403, "ROLE_FORBIDDEN")
    is_problem(as_user(who).post(LISTS, json={"kind": "problem", "title": "x", "due_date": "2030-01-01"}), 403)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "wishlist", "title": "x", "due_date": "2030-01-01"},
        {"kind": "problem", "title": "", "due_date": "2030-01-01"},
        {"kind": "problem", "title": "x", "due_date": "soon"},
        {"kind": "problem", "title": "x"},
        {"kind": "problem", "title": "x", "due_date": "2030-01-01", "priority": "high"},
        {"kind": "problem", "title": "x", "due_date": "2030-01-01", "org_id": node_id("/gd/guandu/c01/br1/")},
        {"kind": "problem", "title": "x", "due_date": "2030-01-01", "owner_account_id": str(uuid.uuid4())},
    ],
)
def test_bad_input_is_422_and_changes_nothing(as_user, body):
    street = as_user("guandu.secretary")
    before = ids(street.get(LISTS, params={"scope": "below", "limit": 100})) | ids(street.get(LISTS))
    is_problem(street.post(LISTS, json=body), 422)
    after = ids(street.get(LISTS, params={"scope": "below", "limit": 100})) | ids(street.get(LISTS))
    assert after == before


def test_an_owner_must_be_a_secretary_who_can_read_the_item(as_user):
    """A resident's account sits on the community's node too, but may not read four lists: owning an item it
    could never open is refused, on creation and on a change of owner, and nothing changes."""
    community = as_user("liujia.c01.secretary")
    account = as_user("demo.resident").get("/api/v1/me").json()
    body = {"kind": "problem", "title": "河道垃圾", "due_date": "2030-01-01", "org_id": node_id(account["scope_path"])}
    before = ids(community.get(LISTS, params={"limit": 100}))
    refused = is_problem(community.post(LISTS, json=body | {"owner_account_id": account["account_id"]}), 422)
    assert refused["code"] == "FOUR_LIST_OWNER_INVALID"
    assert ids(community.get(LISTS, params={"limit": 100})) == before
    item = community.post(LISTS, json=body).json()
    change = {"owner_account_id": account["account_id"], "version": item["version"]}
    is_problem(community.patch(f"{LISTS}/{item['id']}", json=change), 422, "FOUR_LIST_OWNER_INVALID")
    assert community.get(f"{LISTS}/{item['id']}").json()["owner_account_id"] == item["owner_account_id"]


def test_unknown_query_parameters_are_refused(as_user):
    is_problem(as_user("guandu.secretary").get(LISTS, params={"scoep": "below"}), 422)


def test_an_item_moves_through_its_states_keeps_its_notes_and_refuses_illegal_or_stale_changes(as_user):
    c01 = as_user("jinma.c01.secretary")
    item = new_item(c01)
    path = f"{LISTS}/{item['id']}"
    started = c01.post(f"{path}/status", json={"status": "in_progress", "version": 1})
    assert started.status_code == 200 and started.json()["started_at"]
    is_problem(c01.post(f"{path}/status", json={"status": "done", "version": 1}), 409, "FOUR_LIST_STALE")
    is_problem(c01.patch(path, json={"title": "新标题", "version": 1}), 409, "FOUR_LIST_STALE")
    is_problem(c01.post(f"{path}/status", json={"status": "archived", "version": 2}), 422)
    noted = c01.post(f"{path}/notes", json={"text": "已现场核查"})
    assert noted.status_code == 201
    street = as_user("jinma.secretary")
    street.post(f"{path}/notes", json={"text": "街道督办"})
    edited = c01.patch(path, json={"title": "新标题", "version": 4})
    assert edited.status_code == 200 and edited.json()["title"] == "新标题"
    done = c01.post(f"{path}/status", json={"status": "done", "version": 5})
    assert done.status_code == 200 and done.json()["done_at"]
    is_problem(c01.post(f"{path}/status", json={"status": "open", "version": 6}), 409, "FOUR_LIST_INVALID_TRANSITION")
    is_problem(c01.patch(path, json={"title": "再改", "version": 6}), 409, "FOUR_LIST_ITEM_FINAL")
    read = c01.get(path).json()
    assert [n["text"] for n in read["notes"]] == ["已现场核查", "街道督办"]
    assert read["notes"][1]["author_account_id"] != read["notes"][0]["author_account_id"]
    assert (read["status"], read["version"], read["title"]) == ("done", 6, "新标题")


def test_an_item_past_its_due_day_is_flagged_listed_and_announced(suite, as_user):
    subscriber = Subscriber(suite.env["AMQP_URI"], "organization.events", ["four_list_item.went_overdue.yiliu"])
    try:
        c01 = as_user("yiliu.c01.secretary")
        yesterday = (today() - timedelta(days=1)).date().isoformat()
        late = new_item(c01, due_date=yesterday, kind="rectification")
        on_time = new_item(c01, due_date=(today() + timedelta(days=3)).date().isoformat())
        wait_for(
            lambda: late["id"] in ids(c01.get(LISTS, params={"overdue": "true"})),
            timeout=30,
            what="the late item listed as overdue",
        )
        overdue = ids(c01.get(LISTS, params={"overdue": "true"}))
        assert on_time["id"] not in overdue
        assert late["id"] in ids(as_user("yiliu.secretary").get(LISTS, params={"scope": "below", "overdue": "true"}))
        assert c01.get(f"{LISTS}/{late['id']}").json()["overdue_at"]
        received = [e for e in subscriber.wait_for_count(1, timeout=30) if e["subject"] == late["id"]]
        assert len(received) == 1
        assert received[0]["type"] == "four_list_item.went_overdue" and received[0]["data"]["due_date"] == yesterday
    finally:
        subscriber.close()
