"""Accounts' life cycle over HTTP: who may create whom (403), scope (404), the password policy (422, nothing
changed), one-time temporary passwords, and a disabled account's live token refused within the TTL."""

import uuid

import pytest
import requests

from kit.harness import wait_for
from organization.demo.__main__ import node_id
from tests.e2e.test_orgs import is_problem

ACCOUNTS = "/api/v1/accounts"


def login(suite, username: str, password: str) -> requests.Response:
    return requests.post(
        f"{suite.base_url}/api/v1/auth/token", json={"username": username, "password": password}, timeout=10
    )


def usernames(client, **params) -> list[str]:
    response = client.get(ACCOUNTS, params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return [a["username"] for a in response.json()["items"]]


def test_a_street_secretary_creates_an_account_whose_temporary_password_works_once_shown(suite, as_user):
    street = as_user("xiaobanqiao.secretary")
    name = f"xbq.resident.{uuid.uuid4().hex[:6]}"
    body = {"username": name, "display_name": "居民", "role": "resident", "org_id": node_id("/gd/xiaobanqiao/c02/")}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    created = street.post(ACCOUNTS, json=body, headers=key)
    assert created.status_code == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    account = created.json()
    assert account["scope_path"] == "/gd/xiaobanqiao/c02/" and account["status"] == "active"
    assert len(account["temporary_password"]) >= 10
    again = street.post(ACCOUNTS, json=body, headers=key)  # a retry: the same account, the password not again
    assert again.status_code == 201 and again.json()["account_id"] == account["account_id"]
    assert again.json()["temporary_password"] is None
    assert login(suite, name, account["temporary_password"]).status_code == 200
    assert street.get(f"{ACCOUNTS}/{account['account_id']}").json()["username"] == name
    assert usernames(street, q=name) == [name]


def test_department_desk_accounts_take_their_departments_code(as_user):
    admin = as_user("district.admin")
    name = f"water.desk2.{uuid.uuid4().hex[:6]}"
    created = admin.post(
        ACCOUNTS,
        json={
            "username": name,
            "display_name": "水务局第二值班席",
            "role": "department",
            "org_id": node_id("/departments/water/"),
            "password": "a-long-password",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["department_code"] == "water" and created.json()["temporary_password"] is None


def test_a_street_secretary_may_never_create_a_district_admin_nor_reach_another_street(as_user):
    street = as_user("xiaobanqiao.secretary")
    body = {"username": "xbq.boss", "display_name": "x", "role": "district_admin", "org_id": node_id("/gd/")}
    is_problem(street.post(ACCOUNTS, json=body), 403, "ACCOUNT_ROLE_FORBIDDEN")
    body = {"username": "xbq.other", "display_name": "x", "role": "resident", "org_id": node_id("/gd/taihe/c01/")}
    is_problem(street.post(ACCOUNTS, json=body), 404, "ORG_NOT_FOUND")
    assert not {"xbq.boss", "xbq.other"} & set(usernames(as_user("district.admin"), q="xbq."))
    taihe = as_user("taihe.secretary").get("/api/v1/me").json()["account_id"]
    admin_id = as_user("district.admin").get("/api/v1/me").json()["account_id"]
    for target in (taihe, admin_id):
        is_problem(street.get(f"{ACCOUNTS}/{target}"), 404, "ACCOUNT_NOT_FOUND")
        is_problem(street.post(f"{ACCOUNTS}/{target}/disable", json={"reason": "x"}), 404, "ACCOUNT_NOT_FOUND")
    assert all(u.startswith(("xiaobanqiao.", "xbq.")) for u in usernames(street))


@pytest.mark.parametrize("who", ["xiaobanqiao.c01.secretary", "water.desk"])
def test_other_roles_may_not_manage_accounts(as_user, who):
    is_problem(as_user(who).get(ACCOUNTS), 403, "ROLE_FORBIDDEN")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"password": "short"}, "PASSWORD_TOO_WEAK"),
        ({"role": "emperor"}, "VALIDATION_FAILED"),
        ({"role": "community_secretary"}, "ACCOUNT_NODE_NOT_ALLOWED"),  # the node is a branch
        ({"role": "member"}, "ACCOUNT_MEMBER_ID_REQUIRED"),
        ({"role": "resident", "org_id": node_id("/gd/xiaobanqiao/c01/")}, "ACCOUNT_MEMBER_NOT_LINKABLE"),  # m-123
        ({"username": "No Spaces"}, "VALIDATION_FAILED"),
        ({"is_admin": True}, "VALIDATION_FAILED"),
    ],
)
def test_bad_input_is_422_and_changes_nothing(as_user, body, code):
    street = as_user("xiaobanqiao.secretary")
    full = {
        "username": "xbq.bad.input",
        "display_name": "x",
        "role": body.get("role", "member"),
        "member_id": None if body.get("role") == "member" else "m-123",
        "org_id": node_id("/gd/xiaobanqiao/c01/br1/"),
        **body,
    }
    is_problem(street.post(ACCOUNTS, json=full), 422, code)
    assert usernames(street, q="bad.input") == []


def a_member_of(client, branch: str) -> str:
    listed = client.get("/api/v1/members", params={"branch_id": node_id(branch), "limit": 1})
    assert listed.status_code == 200 and listed.json()["items"], listed.text
    return str(listed.json()["items"][0]["id"])


def test_a_member_account_acts_only_as_a_current_member_of_its_branch_in_the_admins_scope(suite, as_user):
    """Whoever holds a member account reads that member's record: an administrator may not link one to a
    member outside their scope, nor hang it on another branch, nor link a member who has left."""
    street = as_user("xiaobanqiao.secretary")
    mine = a_member_of(street, "/gd/xiaobanqiao/c01/br1/")
    elsewhere = a_member_of(as_user("district.admin"), "/gd/liujia/c01/br1/")
    name = f"xbq.member.{uuid.uuid4().hex[:6]}"

    def body(member_id: str, branch: str = "/gd/xiaobanqiao/c01/br1/") -> dict:
        return {"username": name, "display_name": "党员", "role": "member", "org_id": node_id(branch)} | {
            "member_id": member_id
        }

    refused = is_problem(street.post(ACCOUNTS, json=body(elsewhere)), 422, "ACCOUNT_MEMBER_NOT_LINKABLE")
    assert refused["errors"] == {"member_id": ["not found"]}
    refused = is_problem(street.post(ACCOUNTS, json=body(mine, "/gd/xiaobanqiao/c01/br2/")), 422)
    assert refused["errors"] == {"org_id": ["the member's branch or above"]}
    assert usernames(street, q=name) == []

    created = street.post(ACCOUNTS, json=body(mine))
    assert created.status_code == 201, created.text
    member = login(suite, name, created.json()["temporary_password"]).json()["access_token"]
    seen = requests.get(
        f"{suite.base_url}/api/v1/members", headers={"Authorization": f"Bearer {member}"}, timeout=10
    ).json()["items"]
    assert [m["id"] for m in seen] == [mine]


def test_a_taken_username_is_409(as_user):
    body = {
        "username": "xiaobanqiao.c01.secretary",
        "display_name": "x",
        "role": "resident",
        "org_id": node_id("/gd/xiaobanqiao/c01/"),
    }
    is_problem(as_user("xiaobanqiao.secretary").post(ACCOUNTS, json=body), 409, "ACCOUNT_USERNAME_TAKEN")


def test_a_disabled_account_stops_working_and_a_reset_password_ends_every_session(suite, as_user):
    admin = as_user("district.admin")
    name = f"yiliu.clerk.{uuid.uuid4().hex[:6]}"
    body = {
        "username": name,
        "display_name": "矣六社区干事",
        "role": "community_secretary",
        "org_id": node_id("/gd/yiliu/c02/"),
        "password": "first-password",
    }
    account = admin.post(ACCOUNTS, json=body).json()
    session = login(suite, name, "first-password").json()
    user = requests.Session()
    user.headers["Authorization"] = f"Bearer {session['access_token']}"
    assert user.get(f"{suite.base_url}/api/v1/me", timeout=10).status_code == 200

    is_problem(admin.post(f"{ACCOUNTS}/{account['account_id']}/disable", json={}), 422)
    disabled = admin.post(f"{ACCOUNTS}/{account['account_id']}/disable", json={"reason": "调离"})
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    wait_for(
        lambda: user.get(f"{suite.base_url}/api/v1/me", timeout=10).status_code == 401,
        timeout=15,
        what="the disabled account's access token refused",
    )
    assert login(suite, name, "first-password").status_code == 401
    refresh = requests.post(
        f"{suite.base_url}/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}, timeout=10
    )
    assert refresh.status_code == 401

    assert admin.post(f"{ACCOUNTS}/{account['account_id']}/enable").json()["status"] == "active"
    session = login(suite, name, "first-password").json()
    reset = admin.post(f"{ACCOUNTS}/{account['account_id']}/reset-password", json={})
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    temporary = reset.json()["temporary_password"]
    assert login(suite, name, "first-password").status_code == 401
    assert login(suite, name, temporary).status_code == 200
    refresh = requests.post(
        f"{suite.base_url}/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}, timeout=10
    )
    assert refresh.status_code == 401
    is_problem(admin.post(f"{ACCOUNTS}/{account['account_id']}/reset-password", json={"password": "2short"}), 422)
    assert login(suite, name, temporary).status_code == 200  # the refused reset changed nothing


def test_nobody_disables_their_own_account(as_user):
    admin = as_user("district.admin")
    me = admin.get("/api/v1/me").json()["account_id"]
    is_problem(admin.post(f"{ACCOUNTS}/{me}/disable", json={"reason": "x"}), 422, "ACCOUNT_CANNOT_DISABLE_SELF")
