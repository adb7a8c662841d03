"""Four lists, street modules and account administration on the real databases (SQLite and PostgreSQL): scope
in the queries, the overdue scan announcing each item once even when scans race, events in the outbox."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from kit.clock import FixedClock
from kit.context import CallerContext
from kit.db import Database
from kit.orm import OutboxRow
from kit.uow import UnitOfWork
from organization.app import accounts, four_lists, modules
from organization.demo.__main__ import node_id
from organization.domain.accounts import LockoutPolicy, PasswordTooWeak, RoleNotGrantable, SessionPolicy, UsernameTaken
from organization.domain.errors import AccountDisabled, AccountNotFound, OrgNotFound, RefreshInvalid
from organization.domain.four_lists import InvalidTransition, ItemNotFound, StaleItem
from organization.domain.modules import UnknownModule

DEMO_PASSWORD = "Guandu@2026"
START = datetime(2026, 5, 10, 2, 0, tzinfo=UTC)


class Env:
    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self.clock = FixedClock(START)

    def unit(self, ctx: CallerContext | None = None) -> UnitOfWork:
        return UnitOfWork(self.db, service="organization", clock=self.clock, context=ctx or CallerContext.system())

    def run(self, ctx: CallerContext, fn):  # a committed change, like storage.command without the key
        with self.unit(ctx) as uow:
            result = fn(uow)
            uow.commit()
            return result

    def read(self, ctx: CallerContext, fn):
        with self.unit(ctx) as uow:
            return fn(uow)

    def as_user(self, username: str, password: str | None = None) -> CallerContext:
        with self.unit() as uow:
            session = accounts.authenticate(uow, username, password or DEMO_PASSWORD, LockoutPolicy(), SessionPolicy())
            uow.commit()
        a = session["account"]
        return CallerContext(
            role=a["role"], scope_path=a["scope_path"], correlation_id=uuid.uuid4().hex, account_id=a["account_id"]
        )

    def outbox(self, event_type: str) -> list[str]:
        with self.db.session(write=False) as s:
            return list(s.scalars(select(OutboxRow.routing_key).where(OutboxRow.event_type == event_type)))


@pytest.fixture
def env(demo_db: str) -> Iterator[Env]:
    e = Env(demo_db)
    yield e
    e.db.dispose()


def test_items_are_scoped_move_through_their_states_and_are_announced(env):
    c01 = env.as_user("liujia.c01.secretary")
    street = env.as_user("liujia.secretary")
    other = env.as_user("taihe.secretary")
    item = env.run(
        c01,
        lambda uow: four_lists.create_item(
            uow, c01, {"kind": "problem", "title": "河道垃圾", "due_date": date(2026, 5, 20)}
        ),
    )
    assert item["org_path"] == "/gd/liujia/c01/" and item["owner_account_id"] == c01.account_id
    own = env.read(c01, lambda uow: four_lists.list_items(uow, c01, {"scope": "own"}))
    assert [i["id"] for i in own["items"]] == [item["id"]]
    assert env.read(street, lambda uow: four_lists.list_items(uow, street, {"scope": "own"}))["items"] == []
    below = env.read(street, lambda uow: four_lists.list_items(uow, street, {"scope": "below"}))
    assert [i["id"] for i in below["items"]] == [item["id"]]
    with pytest.raises(ItemNotFound):
        env.read(other, lambda uow: four_lists.get_item(uow, other, item["id"]))
    with pytest.raises(OrgNotFound):  # another street's node does not exist for them
        env.run(
            other,
            lambda uow: four_lists.create_item(
                uow,
                other,
                {"kind": "project", "title": "x", "due_date": date(2026, 6, 1), "org_id": node_id("/gd/liujia/c01/")},
            ),
        )

    moved = env.run(
        street,
        lambda uow: four_lists.change_status(uow, street, item["id"], {"status": "in_progress", "version": 1}),
    )
    assert moved["status"] == "in_progress" and moved["version"] == 2
    with pytest.raises(StaleItem):
        env.run(c01, lambda uow: four_lists.change_status(uow, c01, item["id"], {"status": "done", "version": 1}))
    noted = env.run(c01, lambda uow: four_lists.add_note(uow, c01, item["id"], {"text": "已联系河长"}))
    assert [n["text"] for n in noted["notes"]] == ["已联系河长"] and noted["version"] == 3
    env.run(c01, lambda uow: four_lists.change_status(uow, c01, item["id"], {"status": "done", "version": 3}))
    with pytest.raises(InvalidTransition):
        env.run(c01, lambda uow: four_lists.change_status(uow, c01, item["id"], {"status": "open", "version": 4}))
    assert env.outbox("four_list_item.created") == ["four_list_item.created.liujia"]
    assert len(env.outbox("four_list_item.updated")) == 3


def test_the_overdue_scan_flags_and_announces_each_item_once_even_when_scans_race(env):
    admin = env.as_user("district.admin")
    c01 = env.as_user("liujia.c01.secretary")
    due = [
        env.run(
            c01,
            lambda uow, n=n: four_lists.create_item(
                uow, c01, {"kind": "rectification", "title": f"整改{n}", "due_date": date(2026, 5, 12)}
            ),
        )
        for n in range(6)
    ]
    later = env.run(
        c01,
        lambda uow: four_lists.create_item(uow, c01, {"kind": "project", "title": "后", "due_date": date(2026, 9, 1)}),
    )
    env.run(c01, lambda uow: four_lists.change_status(uow, c01, due[0]["id"], {"status": "cancelled", "version": 1}))
    assert env.run(CallerContext.system(), four_lists.scan_overdue) == 0  # nothing is due yet

    env.clock.set(datetime(2026, 5, 12, 16, 0, tzinfo=UTC))  # midnight in Shanghai: the 12th is over
    counts: list[int] = []

    def scan() -> None:
        counts.append(env.run(CallerContext.system(), four_lists.scan_overdue))

    threads = [threading.Thread(target=scan) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 5
    assert env.run(CallerContext.system(), four_lists.scan_overdue) == 0
    assert len(env.outbox("four_list_item.went_overdue")) == 5
    overdue = env.read(admin, lambda uow: four_lists.list_items(uow, admin, {"scope": "below", "overdue": True}))
    assert {i["id"] for i in overdue["items"]} == {i["id"] for i in due[1:]}
    assert later["id"] not in {i["id"] for i in overdue["items"]}


def test_street_modules_default_from_the_catalogue_and_a_district_admin_changes_them(env):
    admin = env.as_user("district.admin")
    liujia, taihe = node_id("/gd/liujia/"), node_id("/gd/taihe/")
    assert "river_patrol" in env.read(admin, lambda uow: modules.get_street_modules(uow, admin, liujia))["modules"]
    assert "river_patrol" not in env.read(admin, lambda uow: modules.get_street_modules(uow, admin, taihe))["modules"]
    changed = env.run(
        admin,
        lambda uow: modules.set_street_modules(uow, admin, taihe, {"modules": ["whistle", "river_patrol"]}),
    )
    assert changed["modules"] == ["river_patrol", "whistle"]
    with pytest.raises(UnknownModule):
        env.run(admin, lambda uow: modules.set_street_modules(uow, admin, taihe, {"modules": ["teleport"]}))
    same = {"modules": ["whistle", "river_patrol"]}  # the same list again: nothing changed, nothing announced
    env.run(admin, lambda uow: modules.set_street_modules(uow, admin, taihe, same))
    assert env.outbox("street_modules.changed") == ["street_modules.changed.taihe"]
    system = CallerContext.system()
    assert env.read(system, lambda uow: modules.modules_for_scope(uow, "/gd/taihe/c03/"))["modules"] == [
        "river_patrol",
        "whistle",
    ]
    assert env.read(system, lambda uow: modules.modules_for_scope(uow, "/gd/")) == {
        "street_code": None,
        "modules": None,
    }
    street = env.as_user("taihe.secretary")
    with pytest.raises(OrgNotFound):
        env.read(street, lambda uow: modules.get_street_modules(uow, street, liujia))


def test_a_street_secretary_manages_accounts_of_their_street_only(env):
    street = env.as_user("liujia.secretary")
    issued: list[str] = []
    created = env.run(
        street,
        lambda uow: accounts.create_account(
            uow,
            street,
            {
                "username": "liujia.c01.clerk",
                "display_name": "六甲社区干事",
                "role": "resident",
                "org_id": node_id("/gd/liujia/c01/"),
            },
            issued,
        ),
    )
    assert created["scope_path"] == "/gd/liujia/c01/" and len(issued) == 1 and len(issued[0]) >= 10
    session_user = env.as_user("liujia.c01.clerk", issued[0])
    assert session_user.role == "resident"
    with pytest.raises(RoleNotGrantable):
        env.run(
            street,
            lambda uow: accounts.create_account(
                uow,
                street,
                {"username": "boss", "display_name": "x", "role": "district_admin", "org_id": node_id("/gd/")},
                [],
            ),
        )
    with pytest.raises(UsernameTaken):
        env.run(
            street,
            lambda uow: accounts.create_account(
                uow,
                street,
                {
                    "username": "liujia.c01.clerk",
                    "display_name": "x",
                    "role": "resident",
                    "org_id": node_id("/gd/liujia/c01/"),
                    "password": "long-enough-pass",
                },
                [],
            ),
        )
    with pytest.raises(PasswordTooWeak):
        env.run(
            street,
            lambda uow: accounts.reset_password(uow, street, created["account_id"], {"password": "short"}, []),
        )
    taihe_secretary = env.as_user("taihe.secretary")
    with pytest.raises(AccountNotFound):  # another street's account is not there for them
        env.read(street, lambda uow: accounts.get_account(uow, street, taihe_secretary.account_id))

    with env.unit() as uow:
        login = accounts.authenticate(uow, "liujia.c01.clerk", issued[0], LockoutPolicy(), SessionPolicy())
        uow.commit()
    env.run(street, lambda uow: accounts.disable(uow, street, created["account_id"], {"reason": "搬离"}))
    assert env.outbox("account.disabled") == ["account.disabled.liujia"]
    with env.unit() as uow, pytest.raises(RefreshInvalid):
        accounts.refresh_session(uow, login["refresh_token"], SessionPolicy())
    with pytest.raises(AccountDisabled):
        env.as_user("liujia.c01.clerk", issued[0])
    env.run(street, lambda uow: accounts.enable(uow, street, created["account_id"]))
    env.run(
        street,
        lambda uow: accounts.reset_password(uow, street, created["account_id"], {"password": "a-new-password"}, []),
    )
    assert env.as_user("liujia.c01.clerk", "a-new-password").account_id == created["account_id"]
    listed = env.read(street, lambda uow: accounts.list_accounts(uow, street, {"role": "resident"}))
    assert [a["username"] for a in listed["items"]] == ["liujia.c01.clerk"]
    everyone = env.read(street, lambda uow: accounts.list_accounts(uow, street, {"limit": 100}))
    assert all(a["scope_path"].startswith("/gd/liujia/") for a in everyone["items"])
