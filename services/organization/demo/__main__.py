"""Load the Guandu demo data once: `python -m organization.demo` (migrates first; a second run does nothing).

Every node goes through the domain's rules and records the same events as live use (carrying the time the
fact happened) for the relay to publish; the ~2,000 nodes (about 1,000 of them branches, from generate.py
with `DEMO_SEED`) are written in bulk in one unit of work. It prints the time it took and the counts per level.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from kit.clock import SystemClock, local_date
from kit.config import Settings
from kit.context import CallerContext
from kit.db import Database
from kit.demo_tree import departments, load_tree, node_id, point, square
from kit.migrate import upgrade
from kit.uow import UnitOfWork
from organization.adapters.orm.accounts import AccountRow
from organization.adapters.orm.engagement import (
    AllianceMembershipRow,
    BranchRatingRow,
    DualRegistrationRow,
    RatingChangeRow,
    ServiceReportRow,
)
from organization.adapters.orm.four_lists import FourListItemRow
from organization.adapters.orm.members import MemberRow
from organization.adapters.orm.tree import OrgRow
from organization.adapters.passwords import hash_password
from organization.adapters.personal_data import PersonalDataCipher
from organization.adapters.repositories.tree import OrgRepository
from organization.app import accounts, modules
from organization.app.members import register_many
from organization.app.tree import TreeBuilder
from organization.demo.engagement_load import load_engagement
from organization.demo.generate import DEFAULT_SEED, DemoData, generate
from organization.demo.lists_load import load_four_lists
from organization.domain.members import Branch
from organization.domain.tree import Level, OrgNode

# node_id is the kit's (kit.demo_tree), named here too because the tests and benches address demo nodes through it.
__all__ = ["load", "main", "node_id"]
DEFAULT_DEMO_PASSWORD = "Guandu@2026"  # noqa: S105 - the documented demo password, overridable
# The tree as it stood when the party-building alliances were founded (the facts' time, not the load's).
FOUNDED = datetime(2019, 3, 1, tzinfo=UTC)


class Loader:
    """Builds the tree in memory through the domain (TreeBuilder), writes it in bulk, then the accounts."""

    def __init__(
        self, uow: UnitOfWork, password_hash: str, demo: DemoData, cipher: PersonalDataCipher, *, records: bool = True
    ) -> None:
        self.uow = uow
        self.records = records
        self.cipher = cipher
        self.member_count = 0
        self.ctx = CallerContext.system()
        self.password_hash = password_hash
        self.demo = demo
        self.tree = TreeBuilder(uow, self.ctx)
        self.accounts: list[tuple[str, str, str]] = []
        self._pending_accounts: list[tuple[str, str, str, OrgNode, str | None]] = []

    def org(self, parent: OrgNode, code: str, name: str, level: Level, **extra: Any) -> OrgNode:
        path = f"{parent.org_path}{code}/"
        return self.tree.add(parent.org_path, id=node_id(path), code=code, name=name, level=level, now=FOUNDED, **extra)

    def account(
        self, username: str, display_name: str, role: str, org: OrgNode, department_code: str | None = None
    ) -> None:
        self._pending_accounts.append((username, display_name, role, org, department_code))

    def load(self, data: dict[str, Any]) -> None:
        d = data["district"]
        district = self.tree.root(
            id=node_id(f"/{d['code']}/"),
            code=d["code"],
            name=d["name"],
            level=Level.DISTRICT,
            now=FOUNDED,
            location={"type": "Point", "coordinates": d["center"]},
        )
        self.account("district.admin", "官渡区委组织部管理员", "district_admin", district)
        for street in data["streets"]:
            self.street(district, street, data)
        for branch in self.demo.branches:
            # About 1,000 branches (generate.py) under communities, areas, working committees and big party
            # committees; br1 and br2 of each community keep the codes of the first demo tree.
            parent = self.tree.nodes[branch.parent_path]
            self.org(parent, branch.code, branch.name, Level.BRANCH)
        deps = data["departments"]
        root = self.tree.root(
            id=node_id(f"/{deps['code']}/"), code=deps["code"], name=deps["name"], level=Level.DEPARTMENTS, now=FOUNDED
        )
        for unit in departments(data):
            dept = self.org(root, unit.code, unit.name, Level.DEPARTMENT)
            self.account(unit.desk, f"{unit.name}值班席", "department", dept, unit.code)
        self.tree.write()
        for node in self.tree.nodes.values():
            if node.level is Level.STREET:  # the modules each street runs (catalogue/modules.yaml)
                modules.load_defaults(self.uow, node.id, node.street_code)
        account_ids: dict[str, str] = {}
        for username, display_name, role, org, department_code in self._pending_accounts:
            account_ids[username] = self._account(username, display_name, role, org.id, department_code)
        if not self.records:
            return
        self.members()
        self.engagement = load_engagement(self.uow, self.demo)
        for extra in self.demo.accounts:  # branch secretaries, demo.member, demo.resident
            account_ids[extra.username] = self._account(
                extra.username, extra.display_name, extra.role, extra.org_id, None, extra.member_id
            )
        self.four_list_items = load_four_lists(self.uow, self.demo, account_ids)

    def _account(
        self,
        username: str,
        display_name: str,
        role: str,
        org_id: str,
        department_code: str | None,
        member_id: str | None = None,
    ) -> str:
        created = accounts.add_account(
            self.uow,
            username=username,
            password="",
            display_name=display_name,
            role=role,
            org_id=org_id,
            department_code=department_code,
            member_id=member_id,
            password_hash=self.password_hash,
        )
        self.accounts.append((username, role, display_name))
        return str(created["account_id"])

    def members(self) -> None:
        """The 20,000+ generated members, registered in bulk through the members' rules and events."""
        branches = {
            path: Branch(id=n.id, level=str(n.level), status=n.status, org_path=path, street_code=n.street_code)
            for path, n in self.tree.nodes.items()
            if n.level is Level.BRANCH
        }
        entries = (
            (
                branches[m.branch_path],
                {
                    "name": m.name,
                    "role": m.branch_role,
                    "gender": m.gender,
                    "birth_date": m.birth_date,
                    "joined_party_on": m.joined_party_on,
                    "full_member_on": m.full_member_on,
                    "id_number": m.id_number,
                    "phone": m.phone,
                },
                m.id,
            )
            for m in self.demo.members
        )
        self.member_count = register_many(self.uow, entries, self.cipher)

    def street(self, district: OrgNode, street: dict[str, Any], data: dict[str, Any]) -> None:
        short = street["name"].removesuffix("街道")
        node = self.org(
            district,
            street["code"],
            street["name"],
            Level.STREET,
            brand=street["brand"],
            location=square(street["center"]),
        )
        self.account(f"{street['code']}.secretary", f"{short}街道党工委书记", "street_secretary", node)
        self.org(node, "wc", f"{short}街道党工委", Level.WORKING_COMMITTEE)
        self.org(node, "alliance", f"{short}街道党建联盟", Level.ALLIANCE)
        for i, name in enumerate(street["communities"], start=1):
            code = f"c{i:02d}"
            community = self.org(node, code, f"{name}社区", Level.COMMUNITY, location=point(street["center"], i - 1))
            self.account(f"{street['code']}.{code}.secretary", f"{name}社区党委书记", "community_secretary", community)
            self.org(community, "bpc", f"{name}社区大党委", Level.BIG_PARTY_COMMITTEE)
            for a in range(1, data["areas_per_community"] + 1):
                area = self.org(community, f"a{a}", f"{name}社区第{_cn(a)}居民小组", Level.AREA)
                for b in range(1, data["buildings_per_area"] + 1):
                    self.org(area, f"b{b}", f"{name}{a}区{b}栋", Level.BUILDING)


def _cn(n: int) -> str:
    return "一二三四五六七八九十"[n - 1]


def load(
    settings: Settings, password: str, seed: int = DEFAULT_SEED, *, records: bool = True
) -> tuple[bool, list[tuple[str, str, str]], float]:
    """(loaded now?, accounts, seconds). Does nothing when the district is already there. `records=False`
    loads the tree and the secretaries' and desks' accounts only (what most service tests start from)."""
    started = time.perf_counter()
    upgrade("organization", settings.database_url)
    clock = SystemClock()
    db = Database(settings.database_url)
    try:
        with UnitOfWork(db, service="organization", clock=clock, context=CallerContext.system()) as uow:
            if OrgRepository(uow.session).root("gd") is not None:
                return False, [], time.perf_counter() - started
            demo = generate(seed, as_of=local_date(clock.now()))
            cipher = PersonalDataCipher.from_env(settings.extra)
            loader = Loader(uow, hash_password(password), demo, cipher, records=records)
            loader.load(load_tree())
            uow.commit()
        return True, loader.accounts, time.perf_counter() - started
    finally:
        db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load the Guandu demo data into the organization service")
    parser.parse_args(argv)
    password = os.environ.get("DEMO_PASSWORD", DEFAULT_DEMO_PASSWORD)
    seed = int(os.environ.get("DEMO_SEED", DEFAULT_SEED))
    records = os.environ.get("DEMO_RECORDS", "all") != "none"  # `none`: the tree and its accounts only
    settings = Settings.from_env("organization")
    loaded, accounts, seconds = load(settings, password, seed, records=records)
    if not loaded:
        print("organization: demo data already loaded")
        return 0
    counts = level_counts(settings.database_url)
    print(f"organization: demo data loaded in {seconds:.1f}s ({len(accounts)} accounts, seed {seed})")
    print("organization: nodes per level: " + ", ".join(f"{level} {n}" for level, n in counts.items()))
    print("organization: records: " + ", ".join(f"{name} {n}" for name, n in record_counts(settings.database_url)))
    return 0


def record_counts(database_url: str) -> list[tuple[str, int]]:
    """What the demo holds besides the tree: members, accounts, engagement, ratings, four lists."""
    tables = (
        ("members", MemberRow),
        ("accounts", AccountRow),
        ("alliance memberships", AllianceMembershipRow),
        ("dual registrations", DualRegistrationRow),
        ("service reports", ServiceReportRow),
        ("rating changes", RatingChangeRow),
        ("four-list items", FourListItemRow),
    )
    db = Database(database_url)
    try:
        with db.session(write=False) as session:
            counts = [(name, session.scalar(select(func.count()).select_from(table)) or 0) for name, table in tables]
            query = select(BranchRatingRow.rating, func.count()).group_by(BranchRatingRow.rating)
            ratings = {str(rating): int(n) for rating, n in session.execute(query)}
    finally:
        db.dispose()
    return counts + [(f"branches rated {rating}", n) for rating, n in sorted(ratings.items())]


def level_counts(database_url: str) -> dict[str, int]:
    """How many organisation nodes of each level, in the order of the tree's levels."""
    db = Database(database_url)
    try:
        with db.session(write=False) as session:
            rows = dict(session.execute(select(OrgRow.level, func.count()).group_by(OrgRow.level)).all())
    finally:
        db.dispose()
    return {str(level): rows[level] for level in Level if level in rows}


if __name__ == "__main__":
    sys.exit(main())
