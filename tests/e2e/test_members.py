"""Party members over HTTP, as each role sees them: the life cycle, scope (404 outside it), bad input (422,
nothing changed), the Excel roster's all-or-nothing import and its export, leaving disabling the login.

The last test scans every response body the non-revealing callers of this module received and every log
line the suite's processes wrote: no unmasked ID number or phone of this module's members may appear, and
every `reveal=true` read must be in the access log."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from pathlib import Path

import requests
from openpyxl import load_workbook

from organization.demo.__main__ import node_id
from tests.e2e.test_orgs import is_problem
from tests.member_data import crafted_roster, id_number, member_account, member_body, phone, roster, unique_seed

BR1 = node_id("/gd/liujia/c01/br1/")
BR2 = node_id("/gd/liujia/c01/br2/")
C02_BR1 = node_id("/gd/liujia/c02/br1/")
GUANSHANG_BR1 = node_id("/gd/guanshang/c01/br1/")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SECRETS: set[str] = set()  # every unmasked value of this module's members
MASKED_BODIES: list[str] = []  # what callers who did not reveal were sent
REVEALS: list[str] = []  # correlation ids of reveal=true reads


def seen(response: requests.Response, *, revealing: bool = False) -> requests.Response:
    if not revealing:
        MASKED_BODIES.append(response.content.decode("utf-8", errors="replace"))
    return response


def new_body(branch_id: str, **extra) -> dict:
    seed = unique_seed()
    SECRETS.update({id_number(seed), phone(seed)})
    return member_body(branch_id, seed, **extra)


def register(client, branch_id: str = BR1, **extra) -> dict:
    response = seen(client.post("/api/v1/members", json=new_body(branch_id, **extra)))
    assert response.status_code == 201, response.text
    return response.json()


def reveal(client, member_id: str) -> requests.Response:
    correlation = uuid.uuid4().hex
    REVEALS.append(correlation)
    return client.get(
        f"/api/v1/members/{member_id}", params={"reveal": "true"}, headers={"X-Correlation-ID": correlation}
    )


def test_register_update_transfer_leave(as_user):
    admin = as_user("liujia.secretary")
    created = register(admin, full_member_on="2016-07-01")
    assert created["id_number"].count("*") == 8 and created["phone"].count("*") == 4
    path = f"/api/v1/members/{created['id']}"
    updated = seen(admin.patch(path, json={"version": 1, "role": "committee_member", "education": "本科"}))
    assert updated.status_code == 200, updated.text
    assert (updated.json()["role"], updated.json()["version"]) == ("committee_member", 2)
    is_problem(seen(admin.patch(path, json={"version": 1, "name": "旧版本"})), 409, "MEMBER_STALE")
    moved = seen(
        admin.post(f"{path}/transfer", json={"to_branch_id": BR2, "transferred_on": "2025-05-01", "version": 2})
    )
    assert moved.status_code == 200, moved.text
    history = seen(admin.get(f"{path}/transfers")).json()["items"]
    assert [(h["from_branch_id"], h["to_branch_id"]) for h in history] == [(BR1, BR2)]
    left = seen(admin.post(f"{path}/leave", json={"left_on": "2026-01-02", "reason": "withdrew", "version": 3}))
    assert left.status_code == 200, left.text
    assert seen(admin.get(path)).json()["status"] == "left"


def test_a_community_secretary_sees_only_their_communitys_members(as_user):
    admin = as_user("district.admin")
    mine = register(admin, BR1, name="甲社区成员")
    theirs = register(admin, C02_BR1, name="乙社区成员")
    c01 = as_user("liujia.c01.secretary")
    listed = seen(c01.get("/api/v1/members", params={"q": "社区成员", "limit": 100})).json()["items"]
    ids = {m["id"] for m in listed}
    assert mine["id"] in ids and theirs["id"] not in ids
    assert all(m["org_path"].startswith("/gd/liujia/c01/") for m in listed)
    is_problem(seen(c01.get(f"/api/v1/members/{theirs['id']}")), 404, "MEMBER_NOT_FOUND")
    is_problem(seen(c01.get(f"/api/v1/members/{theirs['id']}/transfers")), 404, "MEMBER_NOT_FOUND")
    is_problem(seen(c01.patch(f"/api/v1/members/{theirs['id']}", json={"version": 1, "name": "x"})), 404)
    is_problem(seen(as_user("guanshang.secretary").get(f"/api/v1/members/{mine['id']}")), 404)
    # A branch in another street cannot be registered into either.
    is_problem(seen(c01.post("/api/v1/members", json=new_body(GUANSHANG_BR1))), 404, "MEMBER_BRANCH_NOT_FOUND")


def test_a_member_sees_only_themself_and_leaving_ends_their_login(suite, as_user):
    admin = as_user("district.admin")
    me = register(admin, BR1)
    other = register(admin, BR1)
    username = member_account(suite.env["ORGANIZATION_DATABASE_URL"], me["id"], BR1)
    member = as_user(username)
    listed = seen(member.get("/api/v1/members", params={"limit": 100})).json()["items"]
    assert [m["id"] for m in listed] == [me["id"]]
    is_problem(seen(member.get(f"/api/v1/members/{other['id']}")), 404, "MEMBER_NOT_FOUND")
    is_problem(seen(member.post("/api/v1/members", json=new_body(BR1))), 403, "ROLE_FORBIDDEN")
    is_problem(seen(member.get("/api/v1/access-log")), 403, "ROLE_FORBIDDEN")
    mine = reveal(member, me["id"])  # themself: allowed
    assert mine.status_code == 200 and mine.json()["revealed"] is True

    left = seen(
        admin.post(
            f"/api/v1/members/{me['id']}/leave", json={"left_on": "2026-01-02", "reason": "moved_away", "version": 1}
        )
    )
    assert left.status_code == 200, left.text
    login = requests.post(
        f"{suite.base_url}/api/v1/auth/token", json={"username": username, "password": "Guandu@2026"}, timeout=10
    )
    is_problem(login, 401, "AUTH_ACCOUNT_DISABLED")


def test_bad_input_is_422_and_changes_nothing(as_user):
    admin = as_user("district.admin")
    before = seen(admin.get("/api/v1/members", params={"branch_id": BR2, "limit": 100})).json()["items"]
    body = new_body(BR2)
    bad_id = body["id_number"][:-1] + ("1" if body["id_number"][-1] == "0" else "0")
    SECRETS.add(bad_id)
    cases = [
        ({**body, "id_number": bad_id}, "id_number"),
        ({**body, "phone": "12345678901"}, "phone"),
        ({**body, "joined_party_on": "yesterday"}, "joined_party_on"),
        ({**body, "role": "king"}, "role"),
        ({**body, "nickname": "x"}, "nickname"),
        ({k: v for k, v in body.items() if k != "name"}, "name"),
    ]
    for payload, field in cases:
        problem = is_problem(seen(admin.post("/api/v1/members", json=payload)), 422)
        assert field in problem["errors"]["json"], problem
    is_problem(seen(admin.get("/api/v1/members", params={"colour": "red"})), 422)
    after = seen(admin.get("/api/v1/members", params={"branch_id": BR2, "limit": 100})).json()["items"]
    assert after == before


def test_a_roster_with_one_bad_row_imports_nothing_then_a_good_one_imports_all(as_user):
    admin = as_user("liujia.c01.secretary")
    rows = []
    for i in range(5):
        seed = unique_seed()
        SECRETS.update({id_number(seed), phone(seed)})
        rows.append(
            {
                "name": f"名册党员{i}",
                "id_number": id_number(seed),
                "phone": phone(seed),
                "gender": "女",
                "joined_party_on": "2011-07-01",
                "role": "党员",
            }
        )
    bad = [dict(r) for r in rows]
    bad[3]["phone"] = "123"
    before = seen(admin.get("/api/v1/members", params={"q": "名册党员", "limit": 100})).json()["items"]
    files = {"file": ("roster.xlsx", roster(bad), XLSX)}
    problem = is_problem(seen(admin.post("/api/v1/members/import", data={"branch_id": BR2}, files=files)), 422)
    assert problem["code"] == "MEMBER_ROSTER_INVALID"
    assert problem["errors"] == {"row 5": {"phone": [problem["errors"]["row 5"]["phone"][0]]}}
    assert "row 5" in problem["detail"]
    assert seen(admin.get("/api/v1/members", params={"q": "名册党员", "limit": 100})).json()["items"] == before

    files = {"file": ("roster.xlsx", roster(rows), XLSX)}
    done = seen(admin.post("/api/v1/members/import", data={"branch_id": BR2}, files=files))
    assert done.status_code == 201, done.text
    assert done.json()["imported"] == 5
    listed = seen(admin.get("/api/v1/members", params={"q": "名册党员", "branch_id": BR2, "limit": 100})).json()
    assert len(listed["items"]) == len(before) + 5

    exported = admin.get("/api/v1/members/export", params={"branch_id": BR2})
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith(XLSX)
    cells = [
        str(c) for row in load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True) for c in row
    ]
    MASKED_BODIES.append("\n".join(cells))
    assert sum(1 for c in cells if c.startswith("530111") and "********" in c) >= 5


def test_import_refuses_a_missing_file_and_an_unreadable_one(as_user):
    admin = as_user("district.admin")
    no_file = admin.post("/api/v1/members/import", files={"branch_id": (None, BR2)})  # multipart, no file
    problem = is_problem(seen(no_file), 422, "VALIDATION_FAILED")
    assert "file" in problem["errors"]
    files = {"file": ("roster.xlsx", b"not a workbook", XLSX)}
    is_problem(
        seen(admin.post("/api/v1/members/import", data={"branch_id": BR2}, files=files)),
        422,
        "MEMBER_ROSTER_UNREADABLE",
    )


def test_crafted_rosters_are_refused_with_a_short_error_and_the_service_keeps_answering(as_user):
    """Security review, issue 10, section 1: a 10 KiB file of 1,000 x 1,000 empty cells (4 MB of XML) kept the
    service busy 5.7 s; the 1 MiB upload limit allows one of 750 MB. Both are refused (how fast: bench/)."""
    admin = as_user("liujia.c01.secretary")
    for content in (crafted_roster(), crafted_roster(target_bytes=1_000_000)):
        files = {"file": ("roster.xlsx", content, XLSX)}
        refused = seen(admin.post("/api/v1/members/import", data={"branch_id": BR2}, files=files))
        problem = is_problem(refused, 422, "MEMBER_ROSTER_UNREADABLE")
        assert len(refused.content) < 1000, problem
        assert seen(admin.get("/api/v1/orgs", params={"limit": 5})).status_code == 200


def test_an_export_writes_text_never_a_live_formula(as_user):
    """Security review, issue 10, section 2: an education of =HYPERLINK(...) came back as <f>HYPERLINK(...)</f>."""
    admin = as_user("liujia.secretary")
    member = register(admin, BR1)
    hostile = {"name": "=cmd|' /C calc'!A0", "education": '=HYPERLINK("http://evil.example","x")'}
    patched = seen(admin.patch(f"/api/v1/members/{member['id']}", json={"version": 1, **hostile}))
    assert patched.status_code == 200, patched.text
    exported = admin.get("/api/v1/members/export", params={"branch_id": BR1})
    assert exported.status_code == 200
    sheet_xml = zipfile.ZipFile(io.BytesIO(exported.content)).read("xl/worksheets/sheet1.xml").decode()
    assert re.findall(r"<f[ >/]", sheet_xml) == []
    rows = list(load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True))
    titles = list(rows[0])
    mine = next(row for row in rows if row[titles.index("编号")] == member["id"])
    assert (mine[titles.index("姓名")], mine[titles.index("学历")]) == (hostile["name"], hostile["education"])
    MASKED_BODIES.append("\n".join(str(c) for row in rows for c in row))


def test_reveal_is_for_the_roles_that_need_it(as_user):
    admin = as_user("district.admin")
    created = register(admin, BR1)
    street = reveal(as_user("liujia.secretary"), created["id"])
    assert street.status_code == 200 and street.json()["revealed"] is True
    community = reveal(as_user("liujia.c01.secretary"), created["id"])
    assert community.status_code == 200
    is_problem(seen(reveal(as_user("liujia.c02.secretary"), created["id"])), 404)  # not in their scope
    REVEALS.pop()  # refused: not logged
    log = seen(admin.get("/api/v1/access-log", params={"member_id": created["id"]})).json()["items"]
    assert {entry["role"] for entry in log} == {"street_secretary", "community_secretary"}
    is_problem(seen(as_user("liujia.secretary").get("/api/v1/access-log")), 403, "ROLE_FORBIDDEN")


def test_nothing_unmasked_leaked_and_every_reveal_was_logged(suite, as_user):
    """Runs last in this module: the scan of everything the module's non-revealing callers got, and of every
    log line of every process of the suite."""
    assert SECRETS and MASKED_BODIES
    logs = {p.name: p.read_text(errors="replace") for p in Path(suite.workdir).glob("*.log")}
    assert logs
    for secret in SECRETS:
        for body in MASKED_BODIES:
            assert secret not in body, f"an unmasked value in a response: {body[:300]}"
        for name, text in logs.items():
            assert secret not in text, f"an unmasked value in {name}'s log"
    admin = as_user("district.admin")
    logged, cursor = set(), None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/api/v1/access-log", params=params).json()
        logged |= {entry["correlation_id"] for entry in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert REVEALS and set(REVEALS) <= logged


def test_an_id_number_registered_in_another_street_tells_only_that_it_is_taken(as_user):
    """What a secretary may learn when the person before them is already a member elsewhere: that the ID number
    is on the district's register (one person, one membership), and nothing of where or who."""
    seed = unique_seed()
    elsewhere = as_user("guanshang.secretary").post("/api/v1/members", json=member_body(GUANSHANG_BR1, seed))
    assert elsewhere.status_code == 201, elsewhere.text
    existing = elsewhere.json()
    again = as_user("liujia.secretary").post("/api/v1/members", json=member_body(BR1, seed, name="另一人"))
    body = is_problem(again, 409, "MEMBER_ID_NUMBER_TAKEN")
    assert set(body) == {"type", "title", "status", "detail", "code", "errors", "correlation_id"}
    assert body["errors"] == {"id_number": ["registered"]}
    for revealing in (existing["id"], existing["name"], existing["branch_id"], "guanshang", "关上"):
        assert revealing not in again.text
