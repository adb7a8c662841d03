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
    """Nobody manages their own rank (a district admin another district admin, themselves included), so the
    route refuses before the domain's last word (ACCOUNT_CANNOT_DISABLE_SELF) is needed."""
    admin = as_user("district.admin")
    me = admin.get("/api/v1/me").json()["account_id"]
    is_problem(admin.post(f"{ACCOUNTS}/{me}/disable", json={"reason": "x"}), 403, "ACCOUNT_ROLE_FORBIDDEN")
    assert admin.get("/api/v1/me").json()["status"] == "active"


# -- who manages whom: every account route, every acting role against every target role -------------------
# An account manages only accounts of lower rank in its subtree; only the district admin manages street
# secretaries and department desks; nobody manages a district admin through the API (the suite's own loader
# makes them). Every other role may not use the account routes at all.
MANAGED_BY = {
    "district.admin": {
        "street_secretary",
        "community_secretary",
        "branch_secretary",
        "member",
        "resident",
        "department",
    },
    "jinma.secretary": {"community_secretary", "branch_secretary", "member", "resident"},
}
NON_ADMINS = ["jinma.c01.secretary", "water.desk", "demo.member", "demo.resident"]
TARGET_NODES = {
    "street_secretary": "/gd/jinma/",
    "community_secretary": "/gd/jinma/c01/",
    "branch_secretary": "/gd/jinma/c01/br1/",
    "member": "/gd/jinma/c01/br1/",
    "resident": "/gd/jinma/c01/",
    "department": "/departments/water/",
}
TARGET_PASSWORD = "matrix-password-1"


def _new_account(admin, role: str, member_id: str | None = None) -> dict:
    body = {
        "username": f"matrix.{role}.{uuid.uuid4().hex[:8]}",
        "display_name": "矩阵",
        "role": role,
        "org_id": node_id(TARGET_NODES[role]),
        "password": TARGET_PASSWORD,
    }
    created = admin.post(ACCOUNTS, json=body | ({"member_id": member_id} if member_id else {}))
    assert created.status_code == 201, created.text
    return created.json()


@pytest.fixture(scope="module")
def targets(as_user) -> dict[str, dict]:
    """One fresh account of each role in 金马 (and a desk), plus the demo's district admin."""
    admin = as_user("district.admin")
    found = {role: _new_account(admin, role) for role in TARGET_NODES if role != "member"}
    found["member"] = _new_account(admin, "member", a_member_of(admin, "/gd/jinma/c01/br1/"))
    found["district_admin"] = admin.get("/api/v1/me").json() | {"password": "Guandu@2026"}
    return found


def _unchanged(suite, as_user, target: dict) -> None:
    state = as_user("district.admin").get(f"{ACCOUNTS}/{target['account_id']}").json()
    assert state["status"] == "active", state
    assert login(suite, target["username"], target.get("password", TARGET_PASSWORD)).status_code == 200


@pytest.mark.parametrize("actor", [*MANAGED_BY, *NON_ADMINS])
def test_every_account_route_lets_an_actor_manage_only_lower_ranks_in_its_subtree(suite, as_user, targets, actor):
    client = as_user(actor)
    allowed = MANAGED_BY.get(actor, set())
    for role, target in targets.items():
        base = f"{ACCOUNTS}/{target['account_id']}"
        password = target.get("password", TARGET_PASSWORD)
        answers = [
            client.post(f"{base}/reset-password", json={"password": password}),
            client.post(f"{base}/disable", json={"reason": "矩阵测试"}),
            client.post(f"{base}/enable"),
        ]
        if role in allowed:
            assert [a.status_code for a in answers] == [200, 200, 200], (role, [a.text for a in answers])
        else:
            assert all(a.status_code in (403, 404) for a in answers), (role, [a.text for a in answers])
            assert all(a.headers["Content-Type"] == "application/problem+json" for a in answers)
            _unchanged(suite, as_user, target)
        if role == "member":
            continue  # creating a member account needs a member of the actor's scope: the fixture shows it
        username = f"matrix.new.{uuid.uuid4().hex[:8]}"
        body = {
            "username": username,
            "display_name": "新",
            "role": role,
            "org_id": node_id(TARGET_NODES.get(role, "/gd/")),
        }
        created = client.post(ACCOUNTS, json=body)
        assert created.status_code == (201 if role in allowed else created.status_code), created.text
        if role not in allowed:
            assert created.status_code in (403, 404), (role, created.text)
            assert usernames(as_user("district.admin"), q=username) == []


def test_an_ended_session_stops_its_access_tokens_within_the_ttl(suite, as_user):
    """Logging out, a replayed refresh token and a password reset end sessions; the access tokens of those
    sessions stop within ACCOUNT_STATE_TTL (1 s here), not at the end of their 15 minutes; others keep working."""
    admin = as_user("district.admin")
    name = f"taihe.clerk.{uuid.uuid4().hex[:6]}"
    body = {"username": name, "display_name": "太和干事", "role": "community_secretary", "password": "first-password"}
    account = admin.post(ACCOUNTS, json=body | {"org_id": node_id("/gd/taihe/c03/")}).json()

    def me(session: dict) -> requests.Response:
        headers = {"Authorization": f"Bearer {session['access_token']}"}
        return requests.get(f"{suite.base_url}/api/v1/me", headers=headers, timeout=10)

    def refresh(token: str) -> requests.Response:
        return requests.post(f"{suite.base_url}/api/v1/auth/refresh", json={"refresh_token": token}, timeout=10)

    def ended(session: dict, what: str) -> None:
        # Each gunicorn worker caches account state on its own (for the TTL): poll until this one refuses.
        def refused() -> bool:
            answer = me(session)
            return answer.status_code == 401 and answer.json()["code"] == "SESSION_ENDED"

        wait_for(refused, timeout=15, what=what)

    logged_out, other = login(suite, name, "first-password").json(), login(suite, name, "first-password").json()
    assert me(logged_out).status_code == 200
    requests.post(
        f"{suite.base_url}/api/v1/auth/logout", json={"refresh_token": logged_out["refresh_token"]}, timeout=10
    )
    ended(logged_out, "a logged-out session's access token refused")
    assert me(other).status_code == 200  # another session of the same account goes on

    replayed = login(suite, name, "first-password").json()
    rotated = refresh(replayed["refresh_token"]).json()
    assert me(rotated).status_code == 200
    assert refresh(replayed["refresh_token"]).status_code == 401  # reuse: the whole session ends
    ended(rotated, "the access token of a session whose refresh token was replayed refused")

    reset = admin.post(f"{ACCOUNTS}/{account['account_id']}/reset-password", json={"password": "second-password"})
    assert reset.status_code == 200
    ended(other, "an access token issued before a password reset refused")
    assert me(login(suite, name, "second-password").json()).status_code == 200
